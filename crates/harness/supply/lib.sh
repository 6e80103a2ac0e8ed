# Shared by the supply scripts (sourced, not run).

# go_run LABEL COMMAND...: runs a go command with its output kept aside. On failure the
# output is printed, and when the Go module proxy refused a module version (this
# machine's proxy serves some versions and refuses others with 403 "not available"),
# the refused module@version and the versions the proxy lists for it are named, and the
# script exits with 5 so that callers can tell it from a build error.
go_run() {
  local label=$1; shift
  local out; out=$(mktemp)
  if "$@" >"$out" 2>&1; then
    rm -f "$out"
    return 0
  fi
  cat "$out" >&2
  if grep -qE '403|not available' "$out"; then
    local refused module
    refused=$(grep -oE '[A-Za-z0-9._~/-]+@v[0-9][A-Za-z0-9.+-]*: (reading|verifying|downloading)' "$out" | head -n1 | cut -d: -f1)
    module=${refused%@*}
    printf '[%s] the Go module proxy refused %s; versions of %s it lists: %s\n' "$label" \
      "${refused:-a module}" "${module:-it}" \
      "$(go list -m -versions "${module:-none}" 2>/dev/null | cut -s -d' ' -f2- | tr ' ' '\n' | tail -n 12 | tr '\n' ' ')" >&2
    rm -f "$out"
    exit 5
  fi
  rm -f "$out"
  exit 1
}
