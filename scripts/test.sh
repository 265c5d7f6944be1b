#!/usr/bin/env bash
# The one command that runs printgate's tests. On a fresh Debian 12 machine, as root, it installs
# everything the tests need first. The suite runs twice, on SQLite and then on the machine's
# PostgreSQL (127.0.0.1:5432, trust auth; started here when installed but stopped); a failure
# in either pass fails the whole; ruff, mypy and lint-imports run first and stop it on a finding.
# Extra arguments go to pytest:
#     bash scripts/test.sh                      # everything, two workers, both databases
#     bash scripts/test.sh tests/test_peers.py -x
#     PRINTGATE_TEST_DB=postgresql bash scripts/test.sh tests/test_jobs.py   # one pass only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# "command-or-path  Debian package": the tests' real peers (see tests/peers/). A fresh machine
# gets every package; a machine that has every command skips apt-get.
REQUIREMENTS=(
  "python3                       python3"
  "ippeveprinter                 cups-ipp-utils"
  "ipptool                       cups-ipp-utils"
  "cupsd                         cups"
  "/usr/lib/cups/filter/pdftopdf cups-filters"
  "lpadmin                       cups-client"
  "lp                            cups-client"
  "lpstat                        cups-client"
  "cupsdisable                   cups-client"
  "dbus-daemon                   dbus"
  "avahi-daemon                  avahi-daemon"
  "gs                            ghostscript"
  "pdfinfo                       poppler-utils"
  "slapd                         slapd"
  "ldapsearch                    ldap-utils"
  "openssl                       openssl"
  "snmpd                         snmpd"
  "snmpget                       snmp"
  "snmpbulkwalk                  snmp"
  "ippfind                       cups-ipp-utils"
  "avahi-browse                  avahi-utils"
  "curl                          curl"
  "systemd-analyze               systemd"
  "/lib/$(uname -m)-linux-gnu/libnss_mdns4_minimal.so.2 libnss-mdns"
  "chromium                      chromium"
  "node                          nodejs"
  "npm                           npm"
  "go                            golang-go"
  "/usr/share/gocode/src/github.com/OpenPrinting/goipp golang-github-openprinting-goipp-dev"
)

present() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for requirement in "${REQUIREMENTS[@]}"; do
  read -r what package <<<"$requirement"
  present "$what" || missing+=("$package")
done
# venv needs ensurepip, which Debian ships separately.
if [ ! -x .venv/bin/python ] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "scripts/test.sh: installing ${missing[*]}"
  # slapd must not configure (and start) a system directory: the tests run private ones.
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q --no-install-recommends python3 python3-venv "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  rm -rf .venv
  python3 -m venv .venv
fi

# Reinstall only when pyproject.toml changed since the last install into this venv.
stamp=.venv/.printgate-test-install
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$wanted" >"$stamp"
fi

# The Node client of tests/test_independent_clients.py: npm's `ipp`, as its lock file pins it.
node_stamp=tests/clients/node/node_modules/.printgate-test-install
wanted="$(sha256sum tests/clients/node/package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$node_stamp" 2>/dev/null || true)" != "$wanted" ]; then
  npm ci --prefix tests/clients/node --no-audit --no-fund --loglevel=error
  echo "$wanted" >"$node_stamp"
fi

# The house rules (DESIGN.md, "Style"), before any test runs: lint, formatting, types and the
# import contracts of pyproject.toml. Quiet when they pass; a failure shows the tool's output
# and stops here with one line naming the check.
CHECKS=(
  "ruff check gateway webui tests bench"
  "ruff format --check gateway webui tests bench"
  "mypy"
  "lint-imports --no-logo --no-cache"
)
for check in "${CHECKS[@]}"; do
  read -r -a command <<<"$check"
  if ! output="$(".venv/bin/${command[0]}" "${command[@]:1}" 2>&1)"; then
    printf '%s\n' "$output" >&2
    echo "scripts/test.sh: check failed: $check" >&2
    exit 1
  fi
done
echo "scripts/test.sh: checks passed (ruff, ruff format, mypy, lint-imports)"

# ippeveprinter needs the system bus and Avahi; the fixtures would start them too.
.venv/bin/python -c 'from tests.peers import ensure_dns_sd; ensure_dns_sd()'

# The PostgreSQL server is the machine's, not installed here. Without one the PostgreSQL pass
# fails at once, saying so.
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    if ! pg_ctlcluster "$version" main status >/dev/null 2>&1; then
      echo "scripts/test.sh: starting PostgreSQL $version"
      pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
        echo "scripts/test.sh: could not start PostgreSQL $version" >&2
    fi
  done
fi

if [ -n "${PRINTGATE_TEST_DB:-}" ]; then
  databases=("$PRINTGATE_TEST_DB")
else
  databases=(sqlite postgresql)
fi
status=0
ran=0
for database in "${databases[@]}"; do
  echo "scripts/test.sh: the suite on $database"
  started=$SECONDS
  code=0
  PRINTGATE_TEST_DB="$database" .venv/bin/python -m pytest -n 2 -q "$@" || code=$?
  echo "scripts/test.sh: $database pass: exit $code in $((SECONDS - started)) s"
  case "$code" in
    0) ran=1 ;;
    5) ;; # nothing selected for this database (e.g. only PostgreSQL-only tests named)
    *) [ "$status" -ne 0 ] || status=$code ;;
  esac
done
if [ "$status" -eq 0 ] && [ "$ran" -eq 0 ]; then
  status=5
fi
exit "$status"
