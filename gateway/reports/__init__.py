"""Reports: the figures read from the roll-ups, and their formats (PDF, XLSX, CSV, JSON).

The roll-ups themselves live in gateway/accounting/rollups.py (written in the transaction of
each job's charge by `record_charge`; `move_job(session, job_id, changes)` moves a printed job's
figures when its user, project, department or billable flag is changed, in the caller's
transaction; `rebuild(session)` recomputes them, `printgate report rebuild` runs it). Whole
months are read from report_months, the days at a period's edges from the per-day tables
(source.py). This package only reads. Its API, kept stable:

Periods, targets, scopes (period.py, scope.py)
    Period(first: date, last: date)            whole local days, both included; .label,
                                               .utc_bounds(); PeriodError when last < first
    preset(name, today=None) -> Period         PRESETS: today, yesterday, this-week, last-week,
                                               this-month, last-month, this-year (weeks: Monday)
    between("2026-01-01", "2026-01-31")        from ISO dates (forms, the CLI)
    Target(kind="all"|"group"|"printer", name) ALL_PRINTERS; a group is a queue
    Scope(queues=, projects=, departments=)    frozensets, None = no limit; EVERYTHING
    Days are the server's local days (the system's TZ), as SmartTracker and printgate's
    scheduler count them: a job belongs to the day it finished printing.

Queries (each takes the Store and an optional Scope, and applies it)
    summary.summary(store, period, target, scope) -> Summary
        jobs, pages, impressions, sheets, colour / mono impressions, area_printed, area_used,
        length_used (in Summary.units: m² / m or sq ft / ft), ink_ml and coverage per channel,
        line_impressions / line_area per line of the cost basis (Units.lines), cost and price
        as Amounts (net, tax, gross; .total(with_tax); .part(name, with_tax) for "ink",
        "paper", "service" or a line, parts adding up to the total with tax or without; .ink,
        .paper, .service without tax); pies: pages_pie(), area_pie(),
        ink_pie(), cost_and_price(with_tax).
    by_name.by_name(store, dimension, period, target, options, scope, page=1, page_size=50,
                    top=5, names=None) -> ByNameReport
        dimension "user" | "project" | "department" (DIMENSIONS maps "users" -> "user", ...);
        ByNameOptions(billable="billable"|"non-billable"|"both", fees="cost"|"price",
        with_tax=False); rows: NameRow (name, jobs, pages, area, ink_ml, ink, service,
        paper_area, paper, total, lines: {line: LineFigures(pages, area, amount)}) for this
        page, largest total first; overall (every name), pie (top + "Others"), names, pages.
        page_size=None: all names on one page.
    by_name.names_count(store, dimension, period, scope) -> int
    jobs.name_jobs(store, dimension, name, period, target, options, scope, page, page_size)
        -> JobsPage(jobs: tuple[JobLine, ...], total, page, page_size): one name's jobs.
    raw.raw_rows(store, period, target, scope) -> AsyncIterator[tuple]: every job that finished
        in the period, values in RAW_COLUMNS order (every column but the IPP template),
        read in chunks (constant memory).
    reconciliation.reconciliation(store, period, target, scope) -> Reconciliation
        printers: PrinterReconciliation(printer, address, unit, window_start/_end,
        meter_start/_end, counted, charged_jobs, charged, difference, mismatches).

Charts (charts.py): one reportlab Drawing per chart, for pages and PDFs alike
    documents.summary_charts(summary, with_tax), documents.by_name_charts(report)
        -> tuple[Chart(key, title, drawing), ...]
    charts.svg(chart) -> str: inline <svg role="img" aria-label=...> for a page
    charts.pie(title, slices), bars(title, slices, unit), coverage_wheel(coverage), ink_pie(ml)

Files (render.py)
    ReportRequest(kind, period, target, scope, options, names)
        kind: "summary" | "users" | "projects" | "departments" | "raw" | "reconciliation";
        the summary's "include taxes" is options.with_tax.
    render(store, request, fmt, logo=None) -> Rendered(filename, content_type, body)
        fmt: "pdf" | "xlsx" | "csv" | "json"; logo: the PNG of ConsoleSettings.logo()
    render_many(store, request, formats, logo) -> list[Rendered]   (figures read once)
    write_report(store, request, fmt, out, logo): the same into a binary file object; raw
        exports stream (XLSX in openpyxl's write-only mode, CSV and JSON row by row).
    figures(store, request): the typed report a page shows; document_of(report, with_tax):
        its Document (the tables every format writes, document.shown() rounds as the PDF).
    ReportError: unknown kind or format.
    CSV cells: csv_cells.neutralised(text) / cell(value) (formula injection).

Mail (mailing.py)
    addresses("a@x.org; b@y.org") -> tuple (AddressError on a bad one)
    mail_report(mailer, to, title, files) -> Sent(to, attached, size): attachments within
        [mail] max_attachment_bytes, else a notice without them (never truncated).
"""
