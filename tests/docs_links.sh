#!/bin/sh
# docs_links.sh ROOT — the project's documentation stands alone: every Markdown link in
# ROOT's README.md, docs/, bench/ and tests/ names a file or folder that exists inside
# ROOT (a web address, an absolute path or a path that climbs out of ROOT fails), so a
# reader of a clone never meets a dead or outside link. Prints each bad link; exits 1
# when there is one.
set -eu
root=$(cd "${1:?usage: docs_links.sh ROOT}" && pwd -P)
bad=0
for f in "$root/README.md" "$root"/docs/*.md "$root"/bench/*.md "$root"/tests/*/*.md; do
    [ -f "$f" ] || continue
    dir=$(dirname "$f")
    # A bare web address is a link too (renderers make it one).
    if grep -qE '(https?|ftp)://|www\.' "$f"; then
        grep -nE '(https?|ftp)://|www\.' "$f" | sed "s|^|${f#"$root"/}:|; s|\$|: a web address|"
        bad=1
    fi
    # Inline links [text](target): the target up to ')' or a space (a title may follow).
    set -f # a target is a word, never a pattern
    for target in $(grep -oE '\]\([^) ]*' "$f" | sed 's/^](//'); do
        path=${target%%#*}
        [ -n "$path" ] || continue # an anchor in the same file
        case "$path" in
        *:*) reason="a link outside the repository" ;;
        /*) reason="an absolute path" ;;
        *)
            full=$(realpath -m "$dir/$path")
            case "$full/" in
            "$root"/*)
                [ -e "$full" ] && continue
                reason="no such file"
                ;;
            *) reason="a path outside the repository" ;;
            esac
            ;;
        esac
        echo "${f#"$root"/}: ($target): $reason"
        bad=1
    done
    set +f
done
exit $bad
