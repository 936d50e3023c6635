#!/bin/sh
# conformance.sh — ONNX's backend tests (Debian's libonnx-testdata) through the nabla
# command: every test directory of the suites node, simple, pytorch-converted and
# pytorch-operator is run by `nabla onnx-test DIR` on both backends (tcc and cc), two
# at a time, and the coverage page docs/onnx-coverage.md is written from the results.
#
#   conformance.sh NABLA SOURCE_DIR PAGE            the ctest onnx_conformance
#   conformance.sh --update NABLA SOURCE_DIR PAGE   make onnx-coverage: writes PAGE and
#                                                   copies it to docs/onnx-coverage.md
#
# The test fails on any mismatch (on either backend), when the node suite's pass rate
# is below NABLA_ONNX_MIN_NODE_PASS percent, when a test tests/onnx/required.txt lists
# does not pass on both backends, or when the committed docs/onnx-coverage.md is not
# the page written. Knobs (for trying the runner while importers are missing; the
# defaults are the requirement):
#   NABLA_ONNX_DATA           the suites' directory: /usr/share/libonnx-testdata/data
#   NABLA_ONNX_MIN_NODE_PASS  the node suite's pass rate required, percent: 60
#   NABLA_ONNX_REQUIRED       0 skips the required tests' check: 1
#   NABLA_ONNX_CHECK_DOC      0 skips the comparison with docs/onnx-coverage.md: 1
#   NABLA_ONNX_JOBS           tests run at once: 2
#   NABLA_ONNX_TIMEOUT        seconds one test may take before it counts as failed: 600
set -u
update=0
if [ "${1:-}" = "--update" ]; then
    update=1
    shift
fi
if [ $# -ne 3 ]; then
    echo "usage: conformance.sh [--update] NABLA SOURCE_DIR PAGE" >&2
    exit 2
fi
nabla=$1 src=$2 page=$3
data=${NABLA_ONNX_DATA:-/usr/share/libonnx-testdata/data}
default_min_pass=60 # what the page states: the knob only loosens the check
min_pass=${NABLA_ONNX_MIN_NODE_PASS:-$default_min_pass}
check_required=${NABLA_ONNX_REQUIRED:-1}
check_doc=${NABLA_ONNX_CHECK_DOC:-1}
jobs=${NABLA_ONNX_JOBS:-2}
limit=${NABLA_ONNX_TIMEOUT:-600}
required=$src/tests/onnx/required.txt
doc=$src/docs/onnx-coverage.md
export LC_ALL=C

if [ ! -d "$data/node" ]; then
    echo "conformance.sh: no ONNX test data in $data (Debian's libonnx-testdata: make deps)" >&2
    exit 1
fi
tmp=$(mktemp -d /tmp/nabla-onnx-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

# ---- run every test on both backends ----
# One job per line: suite, backend, directory. Each prints one line, written at once
# (short lines on a pipe do not interleave): suite TAB backend TAB onnx-test's line.
for suite in node simple pytorch-converted pytorch-operator; do
    for dir in "$data/$suite"/test_*; do
        [ -f "$dir/model.onnx" ] || continue
        for backend in tcc cc; do
            printf '%s %s %s\n' "$suite" "$backend" "$dir"
        done
    done
done > "$tmp/jobs"
# shellcheck disable=SC2016
xargs -P "$jobs" -L 1 sh -c '
    nabla=$0 limit=$1 suite=$2 backend=$3 dir=$4
    out=$(timeout "$limit" "$nabla" onnx-test "$dir" --backend "$backend" 2>/dev/null)
    rc=$?
    case $rc:$out in
    0:pass\ *|1:mismatch\ *|2:unsupported\ *) ;;
    124:*) out="mismatch ${dir##*/} [] timed out after $limit s" ;;
    *) out="mismatch ${dir##*/} [] nabla onnx-test exited with status $rc: $(printf %s "$out" | head -c 300)" ;;
    esac
    printf "%s\t%s\t%s\n" "$suite" "$backend" "$(printf %s "$out" | tr "\t\n" "  ")"
' "$nabla" "$limit" < "$tmp/jobs" > "$tmp/raw"

# Normalized, sorted: suite TAB backend TAB test TAB status TAB ops TAB reason, where the
# reason loses the test's path (which names this machine's directories).
awk -F'\t' -v data="$data" '
{
    line = $3
    status = line; sub(/ .*/, "", status)
    rest = substr(line, length(status) + 2)
    test = rest; sub(/ .*/, "", test)
    rest = substr(rest, length(test) + 2)
    ops = ""
    if (substr(rest, 1, 1) == "[") {
        ops = substr(rest, 2, index(rest, "]") - 2)
        rest = substr(rest, index(rest, "]") + 2)
    }
    # "'"'"'/path/model.onnx'"'"': onnx: ..." -> "..."
    if (substr(rest, 1, 1) == "'"'"'" && index(rest, "'"'"': ") > 0) {
        quoted = substr(rest, 2, index(rest, "'"'"': ") - 2)
        if (index(quoted, data) == 1) {
            file = substr(quoted, length(data) + 2)
            sub(/^[^\/]*\/[^\/]*\//, "", file)
            rest = file ": " substr(rest, index(rest, "'"'"': ") + 3)
        }
    }
    printf "%s\t%s\t%s\t%s\t%s\t%s\n", $1, $2, test, status, ops, rest
}' "$tmp/raw" | sort -t "$(printf '\t')" -k1,1 -k3,3 -k2,2 > "$tmp/results"

# Required tests: pytorch-converted names matching a glob of required.txt and no '!' glob.
awk '!/^[ \t]*(#|$)/ { print $1 }' "$required" > "$tmp/globs"
awk -F'\t' '$1 == "pytorch-converted" && $2 == "tcc" { print $3 }' "$tmp/results" |
    while read -r t; do
        req=0 excl=0
        while read -r g; do
            case $g in
            !*) case $t in ${g#!}) excl=1 ;; esac ;;
            *) case $t in $g) req=1 ;; esac ;;
            esac
        done < "$tmp/globs"
        if [ $req = 1 ] && [ $excl = 0 ]; then
            echo "required $t"
        elif [ $req = 1 ]; then
            echo "excluded $t"
        fi
    done > "$tmp/required"

# ---- the page ----
awk -F'\t' -v min_pass="$default_min_pass" -v reqfile="$tmp/required" '
function cell(a, b) { return a " / " b }
# A reason grouped: its first words, with names in quotes and numbers replaced.
function group(r,    w, n, i, out) {
    sub(/^[^ ]*(model\.onnx|\.pb): /, "", r)
    sub(/^onnx( tensor)?: /, "", r)
    sub(/^onnx tensor '"'"'[^'"'"']*'"'"': /, "tensor: ", r)
    sub(/^node [0-9]+ ('"'"'[^'"'"']*'"'"' )?\([^)]*\): /, "", r)
    gsub(/'"'"'[^'"'"' ]*'"'"'/, "'"'"'…'"'"'", r)
    gsub(/\|/, "\\|", r)
    n = split(r, w, " ")
    out = ""
    for (i = 1; i <= n && i <= 12; i++) {
        if (w[i] ~ /^-?[0-9]/) sub(/[0-9][0-9.eE+-]*/, "N", w[i])
        out = out (i > 1 ? " " : "") w[i]
    }
    return out (n > 12 ? " …" : "")
}
BEGIN {
    while ((getline l < reqfile) > 0) {
        split(l, f, " ")
        kind[f[2]] = f[1]
    }
}
{
    suite = $1; be = $2; test = $3; st = $4; ops = $5; why = $6
    key = suite "/" test
    n[suite, be, st]++; tot[suite, be]++
    status[key, be] = st
    if (!(key in seen)) { seen[key] = 1; order[++nkeys] = key }
    m = split(ops, o, ",")
    for (i = 1; i <= m; i++) {
        if (o[i] == "") continue
        optests[o[i], be, st]++
        if (!((o[i], key) in opseen)) { opseen[o[i], key] = 1; opn[o[i]]++ }
        allops[o[i]] = 1
    }
    if (suite == "pytorch-converted" && (test in kind))
        rstat[test, be] = st
    if (st == "unsupported" && be == "tcc") {
        g = group(why)
        rn[g]++
        # The ops the reason is about: the node its prefix names, else the test'"'"'s.
        if (match(why, /node [0-9]+ ('"'"'[^'"'"']*'"'"' )?\([^)]*\)/)) {
            op = substr(why, RSTART, RLENGTH); sub(/.*\(/, "", op); sub(/\)$/, "", op)
            m = split(op, o, ",")
        } else if (ops == "") {
            m = split("-", o, ",")
        }
        for (i = 1; i <= m; i++) {
            if (!((g, o[i]) in rops)) { rops[g, o[i]] = 0; rlist[g] = rlist[g] "\n" o[i] }
            rops[g, o[i]]++
        }
    }
    if (st == "mismatch")
        mism[++nmism] = "- " suite " `" test "` (" be ", [" ops "]): " why
}
END {
    print "# ONNX conformance"
    print ""
    print "Written by `tests/onnx/conformance.sh` (the ctest `onnx_conformance`): every test of"
    print "Debian'"'"'s libonnx-testdata (`/usr/share/libonnx-testdata/data/`: suites node, simple,"
    print "pytorch-converted, pytorch-operator) run by `nabla onnx-test DIR` on both backends,"
    print "tcc and cc. A test passes when every data set'"'"'s outputs match within ONNX'"'"'s backend"
    print "tolerances; it is unsupported when the loader refuses the model (an op, attribute,"
    print "type or opset nabla does not import) and a mismatch otherwise. Do not edit: run"
    print "`make onnx-coverage` to write it again."
    print ""
    print "## Totals"
    print ""
    print "| suite | backend | tests | passed | mismatched | unsupported |"
    print "| --- | --- | ---: | ---: | ---: | ---: |"
    ns = split("node simple pytorch-converted pytorch-operator", suites, " ")
    for (s = 1; s <= ns; s++)
        for (b = 1; b <= 2; b++) {
            be = b == 1 ? "tcc" : "cc"
            printf "| %s | %s | %d | %d | %d | %d |\n", suites[s], be, tot[suites[s], be], \
                n[suites[s], be, "pass"], n[suites[s], be, "mismatch"], n[suites[s], be, "unsupported"]
        }
    print ""
    for (b = 1; b <= 2; b++) {
        be = b == 1 ? "tcc" : "cc"
        rate[be] = tot["node", be] ? 100 * n["node", be, "pass"] / tot["node", be] : 0
    }
    printf "The node suite passes %.1f%% of its tests on tcc and %.1f%% on cc (at least %s%% required).\n", \
        rate["tcc"], rate["cc"], min_pass
    print ""
    print "## Required tests"
    print ""
    print "The pytorch-converted tests `tests/onnx/required.txt` lists must pass on both backends"
    print "(the file says why it excludes a test it matches: required \"no\" below)."
    print ""
    print "| test | required | tcc | cc |"
    print "| --- | --- | --- | --- |"
    for (k = 1; k <= nkeys; k++) {
        split(order[k], p, "/")
        if (p[1] != "pytorch-converted" || !(p[2] in kind)) continue
        printf "| `%s` | %s | %s | %s |\n", p[2], kind[p[2]] == "required" ? "yes" : "no", \
            rstat[p[2], "tcc"], rstat[p[2], "cc"]
        if (kind[p[2]] == "required" && (rstat[p[2], "tcc"] != "pass" || rstat[p[2], "cc"] != "pass"))
            failreq[++nfailreq] = p[2]
    }
    print ""
    print "## Op types"
    print ""
    print "Every op type the models use, with the tests (of all suites) whose model uses it;"
    print "each count is tcc / cc. A test counts for each of its op types, so an op of a test"
    print "refused for another op counts as unsupported too."
    print ""
    print "| op | tests | passed | mismatched | unsupported |"
    print "| --- | ---: | ---: | ---: | ---: |"
    nops = 0
    for (op in allops) names[++nops] = op
    for (i = 2; i <= nops; i++)   # insertion sort: deterministic, no gawk needed
        for (j = i; j > 1 && names[j - 1] > names[j]; j--) { t = names[j]; names[j] = names[j - 1]; names[j - 1] = t }
    for (i = 1; i <= nops; i++) {
        op = names[i]
        printf "| %s | %d | %s | %s | %s |\n", op, opn[op], \
            cell(optests[op, "tcc", "pass"] + 0, optests[op, "cc", "pass"] + 0), \
            cell(optests[op, "tcc", "mismatch"] + 0, optests[op, "cc", "mismatch"] + 0), \
            cell(optests[op, "tcc", "unsupported"] + 0, optests[op, "cc", "unsupported"] + 0)
    }
    print ""
    print "## Why tests are unsupported"
    print ""
    print "The reasons of the unsupported tests on tcc, by their first words (names in quotes"
    print "and numbers left out), most frequent first, with the op types concerned and their"
    print "tests: the node'"'"'s when the reason names a node, else every op of the test'"'"'s model"
    print "(a reason about the test'"'"'s data, such as a type nabla has no dtype for)."
    print ""
    print "| reason | tests | ops |"
    print "| --- | ---: | --- |"
    ng = 0
    for (g in rn) gs[++ng] = g
    for (i = 2; i <= ng; i++)
        for (j = i; j > 1 && (rn[gs[j - 1]] < rn[gs[j]] || (rn[gs[j - 1]] == rn[gs[j]] && gs[j - 1] > gs[j])); j--) {
            t = gs[j]; gs[j] = gs[j - 1]; gs[j - 1] = t
        }
    for (i = 1; i <= ng; i++) {
        g = gs[i]
        no = split(substr(rlist[g], 2), ol, "\n")
        for (a = 2; a <= no; a++)
            for (b = a; b > 1 && ol[b - 1] > ol[b]; b--) { t = ol[b]; ol[b] = ol[b - 1]; ol[b - 1] = t }
        s = ""
        for (a = 1; a <= no; a++)
            s = s (a > 1 ? ", " : "") (ol[a] == "-" ? "" : ol[a] " ") "(" rops[g, ol[a]] ")"
        printf "| %s | %d | %s |\n", g, rn[g], s
    }
    dis = 0
    for (k = 1; k <= nkeys; k++)
        if (status[order[k], "tcc"] != status[order[k], "cc"]) {
            if (!dis++) {
                print ""
                print "## Tests whose backends disagree"
                print ""
            }
            printf "- `%s`: %s on tcc, %s on cc\n", order[k], status[order[k], "tcc"], status[order[k], "cc"]
        }
    if (nmism) {
        print ""
        print "## Mismatches"
        print ""
        for (i = 1; i <= nmism; i++) print mism[i]
    }
    # What the checks read, apart from the page.
    printf "%.1f %.1f %d\n", rate["tcc"], rate["cc"], nmism > "/dev/stderr"
    for (i = 1; i <= nfailreq; i++) printf "required %s\n", failreq[i] > "/dev/stderr"
}' "$tmp/results" > "$page" 2> "$tmp/checks"

# ---- the checks ----
failed=0
read -r rate_tcc rate_cc n_mismatch < "$tmp/checks"
awk -F'\t' '{ print $1 "/" $2 }' "$tmp/results" | sort | uniq -c |
    awk '{ printf "%s %s tests run\n", $2, $1 }'
awk -F'\t' '{ n[$1 " " $2 " " $4]++ } END { for (k in n) print k, n[k] }' "$tmp/results" | sort
if [ "$n_mismatch" -gt 0 ]; then
    echo "FAIL: $n_mismatch mismatches:"
    awk -F'\t' '$4 == "mismatch" { printf "  %s/%s (%s) [%s] %s\n", $1, $3, $2, $5, $6 }' "$tmp/results"
    failed=1
fi
for r in "$rate_tcc" "$rate_cc"; do
    if awk -v r="$r" -v m="$min_pass" 'BEGIN { exit !(r < m) }'; then
        echo "FAIL: the node suite passes $r% of its tests, below $min_pass% (NABLA_ONNX_MIN_NODE_PASS)"
        failed=1
        break
    fi
done
if [ "$check_required" != 0 ] && grep -q '^required ' "$tmp/checks"; then
    echo "FAIL: required tests (tests/onnx/required.txt) that do not pass on both backends:"
    grep '^required ' "$tmp/checks" | while read -r _ t; do
        awk -F'\t' -v t="$t" '$1 == "pytorch-converted" && $3 == t { s = s " " $2 " " $4 ","; why = $6 }
            END { printf "  %s:%s %s\n", t, s, why }' "$tmp/results"
    done
    failed=1
fi
if [ "$update" = 1 ]; then
    cp "$page" "$doc" && echo "wrote $doc"
    exit 0
fi
if [ "$check_doc" != 0 ] && ! cmp -s "$page" "$doc"; then
    echo "FAIL: docs/onnx-coverage.md is not the page the tests give ($page):"
    diff -u "$doc" "$page" | head -200
    echo "refresh it with: make onnx-coverage (or sh tests/onnx/conformance.sh --update $nabla $src $page)"
    failed=1
fi
exit $failed
