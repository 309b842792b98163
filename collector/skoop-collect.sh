#!/bin/sh
# skoop-collect.sh: print the network state of one network namespace as a skoop Dump
# (the snapshot format, CONTRACTS.md section 2), as one JSON object on stdout.
#
#   sh skoop-collect.sh                       # the namespace this shell runs in
#   sh skoop-collect.sh --netns PATH          # e.g. /run/netns/foo, /proc/1234/ns/net (via nsenter)
#   sh skoop-collect.sh --netns-pid PID       # same as --netns /proc/PID/ns/net
#   sh skoop-collect.sh --find-pod-netns IP[,IP...]
#                                             # one JSON line per network namespace holding one of IPs
#
# Pure POSIX sh + awk: runs under dash and busybox sh. Each field is exactly what its command printed:
# the -j commands are embedded as JSON, the others as JSON strings. A field whose tool is missing or
# fails is left out and "errors" says why. An empty output is "" (text) or [] (JSON), never absent.
# iptablesLegacy is only present when the legacy backend holds rules: at least one "-A" line or a
# built-in chain whose policy is not ACCEPT (an empty legacy table set is what every nf_tables node has);
# without rules it is absent with no error, without iptables-legacy-save "errors" says so.
# Output is in the C locale (LC_ALL=C) so that tools print the same words on every node.

set -u
LC_ALL=C
export LC_ALL

NETNS=""
FIND=""
while [ $# -gt 0 ]; do
  case "$1" in
    --netns) NETNS="${2:?--netns needs a path}"; shift 2 ;;
    --netns-pid) NETNS="/proc/${2:?--netns-pid needs a pid}/ns/net"; shift 2 ;;
    --find-pod-netns) FIND="${2:?--find-pod-netns needs IP[,IP...]}"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "skoop-collect: unknown argument: $1" >&2; exit 2 ;;
  esac
done

TMP=$(mktemp -d) || exit 3
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# Run a command in the target namespace (the current one unless --netns/--netns-pid was given).
run() {
  if [ -n "$NETNS" ]; then nsenter --net="$NETNS" "$@"; else "$@"; fi
}

# JSON-escape stdin as the body of a JSON string (no surrounding quotes; lines joined by \n and the
# final newline dropped: see string()). Only plain string concatenation, never backslashes in a
# gsub() replacement, whose meaning differs between mawk, gawk and busybox awk.
json_escape() {
  awk '
    BEGIN {
      for (i = 1; i < 32; i++) rep[sprintf("%c", i)] = sprintf("\\u%04x", i)
      rep["\t"] = "\\t"; rep["\r"] = "\\r"; rep["\\"] = "\\\\"; rep["\""] = "\\\""
    }
    {
      s = $0; out = ""
      while (match(s, /[\\"\001-\037]/)) {
        out = out substr(s, 1, RSTART - 1) rep[substr(s, RSTART, 1)]
        s = substr(s, RSTART + 1)
      }
      printf "%s%s%s", (NR > 1 ? "\\n" : ""), out, s
    }'
}

SEP=""       # "," once the first field is printed
ERRORS=""    # "field":"why",... for the errors object

# Print the separator and the key of the next field; its value follows on stdout.
key() { printf '%s"%s":' "$SEP" "$1"; SEP=","; }

# Record why FIELD is left out.
fail() { # fail FIELD MESSAGE
  ERRORS="$ERRORS${ERRORS:+,}\"$1\":\"$(printf '%s' "$2" | json_escape)\""
}

# Run FIELD's command into $TMP/out; return 1 (after recording why) when the tool is missing or fails.
capture() { # capture FIELD COMMAND ARGS...
  field=$1; shift
  if ! command -v "$1" >/dev/null 2>&1; then fail "$field" "$1: not found"; return 1; fi
  if run "$@" >"$TMP/out" 2>"$TMP/err"; then return 0; else rc=$?; fi
  why=$(sed -n '/./{p;q;}' "$TMP/err")
  fail "$field" "${why:-$1: exit status $rc}"
  return 1
}

# Print FILE as one JSON string, byte for byte (awk drops the final newline: put it back).
string() { # string FILE
  printf '"'
  json_escape <"$1"
  [ "$(tail -c 1 "$1" | wc -l)" -eq 1 ] && printf '\\n'
  printf '"'
}

# A text field: the command's output as a JSON string.
text() { # text FIELD COMMAND ARGS...
  capture "$@" || return 0
  key "$1"; string "$TMP/out"
}

# A JSON field (-j command): embedded as-is; empty output is []; anything not starting with [ or { is an error.
json() { # json FIELD COMMAND ARGS...
  capture "$@" || return 0
  first=$(awk 'NF { sub(/^[ \t]+/, ""); print substr($0, 1, 1); exit }' "$TMP/out")
  case "$first" in
    "") key "$1"; printf '[]' ;;
    "["|"{") key "$1"; cat "$TMP/out" ;;
    *) fail "$1" "$2: output is not JSON: $(sed -n '/./{p;q;}' "$TMP/out")" ;;
  esac
}

# --find-pod-netns: walk every process's network namespace once (dedup by inode) and print
# {"ip":..,"ifname":..,"netns":"/proc/PID/ns/net","pid":PID,"inode":N} for each wanted address found.
find_pod_netns() {
  seen=" "
  for ns in /proc/[0-9]*/ns/net; do
    ino=$(ls -iL "$ns" 2>/dev/null | awk '{ print $1 }')
    [ -n "$ino" ] || continue
    case "$seen" in *" $ino "*) continue ;; esac
    seen="$seen$ino "
    pid=${ns#/proc/}; pid=${pid%%/*}
    nsenter --net="$ns" ip -o address show 2>/dev/null | awk -v want="$1" -v ns="$ns" -v pid="$pid" -v ino="$ino" '
      BEGIN { n = split(want, w, ","); for (i = 1; i <= n; i++) ip[w[i]] = 1 }
      $3 == "inet" || $3 == "inet6" {
        a = $4; sub(/\/.*/, "", a); dev = $2; sub(/@.*/, "", dev)
        if (a in ip) printf "{\"ip\":\"%s\",\"ifname\":\"%s\",\"netns\":\"%s\",\"pid\":%s,\"inode\":%s}\n", a, dev, ns, pid, ino
      }'
  done
}

if [ -n "$FIND" ]; then
  find_pod_netns "$FIND"
  exit 0
fi

if [ -n "$NETNS" ] && [ ! -e "$NETNS" ]; then
  echo "skoop-collect: no such network namespace: $NETNS" >&2
  exit 3
fi

printf '{'
json addresses ip -j -d address show
json routes ip -j -d route show table all
json routes6 ip -6 -j -d route show table all
json rules ip -j rule show
json rules6 ip -6 -j rule show
json neighbors ip -j neigh show
json fdb bridge -j fdb show
# sysctl -a exits non-zero when a single key is unreadable (e.g. in a container): keep what it printed.
if command -v sysctl >/dev/null 2>&1; then
  run sysctl -a 2>"$TMP/err" | grep '^net\.' >"$TMP/out"
  if [ -s "$TMP/out" ]; then key sysctls; string "$TMP/out"
  else fail sysctls "$(sed -n '/./{p;q;}' "$TMP/err")"; fi
else
  fail sysctls "sysctl: not found"
fi
text iptables iptables-save
if capture iptablesLegacy iptables-legacy-save && grep -Eq '^-A |^:[A-Z]+ DROP' "$TMP/out"; then
  key iptablesLegacy; string "$TMP/out"
fi
text ip6tables ip6tables-save
text ipsets ipset save
text ipvs ipvsadm -S -n
json nftables nft -j list ruleset
text listeners ss -H -l -n -t -u
if [ -n "$ERRORS" ]; then key errors; printf '{%s}' "$ERRORS"; fi
printf '}\n'
