// An independent IPP client for printgate's tests, on OpenPrinting's goipp (Debian's
// golang-github-openprinting-goipp-dev, an encoder and decoder only) and net/http: prints a
// PDF, waits for the job to end, lists the completed jobs, and prints one JSON object on stdout
// for the test to check.
//
//	printgate-go-client PRINTER_URI PDF_PATH USER JOB_NAME TIMEOUT_SECONDS
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"
)

const pollInterval = 100 * time.Millisecond

var terminal = map[int]bool{7: true, 8: true, 9: true} // canceled, aborted, completed

type client struct {
	printerURI string
	httpURL    string
	user       string
	nextID     uint32
}

func newRequest(c *client, op goipp.Op) *goipp.Message {
	c.nextID++
	m := goipp.NewRequest(goipp.DefaultVersion, op, c.nextID)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(c.printerURI)))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(c.user)))
	return m
}

func (c *client) send(m *goipp.Message, document []byte) (*goipp.Message, error) {
	head, err := m.EncodeBytes()
	if err != nil {
		return nil, err
	}
	body := append(head, document...)
	resp, err := http.Post(c.httpURL, goipp.ContentType, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		text, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, text)
	}
	var answer goipp.Message
	if err := answer.Decode(resp.Body); err != nil {
		return nil, fmt.Errorf("decoding the answer: %w", err)
	}
	return &answer, nil
}

func keywords(values ...string) goipp.Values {
	var out goipp.Values
	for _, v := range values {
		out.Add(goipp.TagKeyword, goipp.String(v))
	}
	return out
}

// goipp 1.0 puts the attributes of every job group into one list: a name seen twice starts
// the next job (IPP forbids an attribute twice within one group).
func splitJobs(attrs goipp.Attributes) []map[string]interface{} {
	var jobs []map[string]interface{}
	var current map[string]interface{}
	for _, attr := range attrs {
		if current == nil || current[attr.Name] != nil {
			current = map[string]interface{}{}
			jobs = append(jobs, current)
		}
		current[attr.Name] = plain(attr.Values)
	}
	return jobs
}

func plain(values goipp.Values) interface{} {
	if len(values) == 0 {
		return nil
	}
	switch v := values[0].V.(type) {
	case goipp.Integer:
		return int(v)
	default:
		return v.String()
	}
}

func integerOf(attrs goipp.Attributes, name string) int {
	for _, attr := range attrs {
		if attr.Name == name && len(attr.Values) > 0 {
			if v, ok := attr.Values[0].V.(goipp.Integer); ok {
				return int(v)
			}
		}
	}
	return 0
}

func run() error {
	if len(os.Args) != 6 {
		return fmt.Errorf("usage: %s PRINTER_URI PDF_PATH USER JOB_NAME TIMEOUT_SECONDS", os.Args[0])
	}
	uri, pdfPath, user, jobName := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	timeout, err := strconv.ParseFloat(os.Args[5], 64)
	if err != nil {
		return err
	}
	document, err := os.ReadFile(pdfPath)
	if err != nil {
		return err
	}
	c := &client{printerURI: uri, user: user}
	c.httpURL = "http" + strings.TrimPrefix(uri, "ipp")

	printJob := newRequest(c, goipp.OpPrintJob)
	printJob.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(jobName)))
	printJob.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/pdf")))
	printed, err := c.send(printJob, document)
	if err != nil {
		return fmt.Errorf("Print-Job: %w", err)
	}
	jobID := integerOf(printed.Job, "job-id")
	state := integerOf(printed.Job, "job-state")
	result := map[string]interface{}{
		"print": map[string]interface{}{"status": int(printed.Code), "job-id": jobID, "job-state": state},
	}

	if jobID != 0 {
		deadline := time.Now().Add(time.Duration(timeout * float64(time.Second)))
		for !terminal[state] && time.Now().Before(deadline) {
			time.Sleep(pollInterval)
			ask := newRequest(c, goipp.OpGetJobAttributes)
			ask.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(jobID)))
			ask.Operation.Add(goipp.Attribute{Name: "requested-attributes", Values: keywords("job-state")})
			answer, err := c.send(ask, nil)
			if err != nil {
				return fmt.Errorf("Get-Job-Attributes: %w", err)
			}
			state = integerOf(answer.Job, "job-state")
		}
		result["final-state"] = state

		list := newRequest(c, goipp.OpGetJobs)
		list.Operation.Add(goipp.MakeAttribute("which-jobs", goipp.TagKeyword, goipp.String("completed")))
		list.Operation.Add(goipp.Attribute{
			Name:   "requested-attributes",
			Values: keywords("job-id", "job-name", "job-state", "job-originating-user-name"),
		})
		listed, err := c.send(list, nil)
		if err != nil {
			return fmt.Errorf("Get-Jobs: %w", err)
		}
		result["get-jobs"] = map[string]interface{}{"status": int(listed.Code), "jobs": splitJobs(listed.Job)}
	}
	return json.NewEncoder(os.Stdout).Encode(result)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go ipp client:", err)
		os.Exit(1)
	}
}
