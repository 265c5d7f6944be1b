// An independent IPP client for printgate's tests: npm's `ipp` prints a PDF (its request has
// no Content-Length: Node sends the body chunked), waits for the job to end, then lists the
// completed jobs. Prints one JSON object on stdout for the test to check.
//
//   node print_and_list.js PRINTER_URI PDF_PATH USER JOB_NAME TIMEOUT_SECONDS
"use strict";

const fs = require("fs");
const http = require("http");
const ipp = require("ipp");

const TERMINAL = new Set(["canceled", "aborted", "completed"]);
const POLL_MS = 100;

// Keep each request ipp opens so we can report the framing it was sent with (the head Node
// wrote: Content-Length or Transfer-Encoding).
const sent = [];
const openRequest = http.request;
http.request = function (...args) {
  const request = openRequest.apply(this, args);
  sent.push(request);
  return request;
};

function execute(printer, operation, message) {
  return new Promise((resolve, reject) => {
    printer.execute(operation, message, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

function framing(request) {
  const head = (request && request._header) || "";
  if (/^transfer-encoding:\s*chunked/im.test(head)) return "chunked";
  if (/^content-length:/im.test(head)) return "content-length";
  return "unknown";
}

function asList(group) {
  if (group === undefined) return [];
  return Array.isArray(group) ? group : [group];
}

async function main() {
  const [uri, pdfPath, user, jobName, timeoutText] = process.argv.slice(2);
  const printer = ipp.Printer(uri);
  const printed = await execute(printer, "Print-Job", {
    "operation-attributes-tag": {
      "requesting-user-name": user,
      "job-name": jobName,
      "document-format": "application/pdf",
    },
    data: fs.readFileSync(pdfPath),
  });
  const printFraming = framing(sent[sent.length - 1]);
  const job = printed["job-attributes-tag"] || {};
  const result = {
    framing: printFraming,
    print: { status: printed.statusCode, "job-id": job["job-id"], "job-state": job["job-state"] },
  };
  if (job["job-id"] === undefined) {
    console.log(JSON.stringify(result));
    return;
  }

  const deadline = Date.now() + Number(timeoutText) * 1000;
  let state = job["job-state"];
  while (!TERMINAL.has(state) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const answer = await execute(printer, "Get-Job-Attributes", {
      "operation-attributes-tag": {
        "job-id": job["job-id"],
        "requesting-user-name": user,
        "requested-attributes": ["job-state"],
      },
    });
    state = (answer["job-attributes-tag"] || {})["job-state"];
  }
  result["final-state"] = state;

  const listed = await execute(printer, "Get-Jobs", {
    "operation-attributes-tag": {
      "requesting-user-name": user,
      "which-jobs": "completed",
      "requested-attributes": ["job-id", "job-name", "job-state", "job-originating-user-name"],
    },
  });
  result["get-jobs"] = {
    status: listed.statusCode,
    jobs: asList(listed["job-attributes-tag"]),
  };
  console.log(JSON.stringify(result));
}

main().catch((error) => {
  console.error(`node ipp client: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});
