#!/bin/bash
# (The sed scripts below hold $ and backslashes on purpose; pass and fail
# never fail.)
# shellcheck disable=SC2016,SC2015,SC1003
# The CI recipes of docs/ci/ (docs/ci.md), checked the way their CI systems
# would read them, and their shell steps run for real against bin/faultline:
#
#   docs       docs/ci.md shows each recipe as it is in its file
#   yaml       yamllint (Debian)
#   github     @action-validator/cli: GitHub's workflow schema; the
#              policies of tests/ci/validate.mjs (Pages, permissions,
#              no continue-on-error)
#   gitlab     gitlab-ci-local: GitLab's CI schema, extends, needs; policies
#   kubernetes kubernetes-models: the API schema, unknown fields; policies
#   dockerfile dockerfile-utils (syntax) and dockerfilelint (practice); the
#              runtime packages against ldd; COPY sources
#   shell      shellcheck (Debian) on the scripts and on every script step
#   run        the Kubernetes scripts and the GitLab and GitHub shard steps,
#              run on a small suite: exit statuses, missing shards, ERRORs
#
# Every check is also run on a copy of its file broken on purpose, and must
# reject it: a check that accepts anything fails here. A check whose tool
# is missing (make deps-lint installs them; without a network it cannot)
# is skipped and says why.
#
#   tests/ci_recipes.sh            run every check (make test-ci, make check)
#   tests/ci_recipes.sh --sync     copy docs/ci/* into docs/ci.md's blocks
#
# Run from the top of the source tree, after `make all
# build/tests/targets/tgt`. Exit status: 0 when nothing failed.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
ci=docs/ci
doc=docs/ci.md
tools=tests/ci
bin=$tools/node_modules/.bin

# ---------------------------------------------------------------------
# docs/ci.md shows a file where a line reads <!-- file: ci/NAME --> followed
# by a block fenced with four backticks (three would end at a recipe's own
# ``` line). Prints the doc with every such block replaced by its file.
doc_with_files() {
	awk -v dir="docs" '
		function flush(f,   line, r) {
			while ((r = (getline line < f)) > 0) print line
			if (r < 0) print "MISSING FILE " f
			close(f)
		}
		inblock && /^````$/ { inblock = 0; print; next }
		inblock { next }
		want && /^````/ { print; flush(dir "/" want); want = ""; inblock = 1; next }
		want { print "MISSING FENCE after the marker of " want; want = "" }
		match($0, /^<!-- file: [^ ]+ -->$/) {
			print
			want = substr($0, 12, length($0) - 15)
			next
		}
		{ print }
	' "$1"
}

if [ "${1:-}" = "--sync" ]; then
	doc_with_files "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
	exit $?
fi

tmp=$(mktemp -d /tmp/fl-ci-recipes.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); echo "  ok      $1"; }
fail() {
	failed=$((failed + 1))
	echo "  FAIL    $1"
	[ -s "$tmp/out" ] && sed 's/^/          | /' "$tmp/out" | head -n 40
}
skip() { skipped=$((skipped + 1)); echo "  skip    $1: $2"; }

# accept NAME CMD...: CMD must succeed on the real file.
accept() {
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then pass "$name"; else fail "$name"; fi
}
# reject NAME REASON CMD...: CMD must fail on a file broken on purpose, and
# for that reason: its output must match the extended regex REASON (a
# check that fails for another reason, a tool that did not start, has not
# looked at the file).
reject() {
	local name=$1 reason=$2
	shift 2
	if "$@" >"$tmp/out" 2>&1; then
		fail "$name: the broken copy was accepted"
	elif ! grep -qE -- "$reason" "$tmp/out"; then
		fail "$name: rejected, but not for the reason /$reason/"
	else
		pass "$name: rejected"
	fi
}
# broken NAME FILE SED-SCRIPT: a copy of FILE (same base name, so tools
# that go by name see the same kind of file) with SED-SCRIPT applied; the
# edit must change something.
broken() {
	local dir="$tmp/broken/$1"
	mkdir -p "$dir"
	sed "$3" "$2" >"$dir/$(basename "$2")"
	if cmp -s "$2" "$dir/$(basename "$2")"; then
		echo "ci_recipes.sh: the edit '$3' does not change $2" >&2
		exit 2
	fi
	echo "$dir/$(basename "$2")"
}

have_npm_tools() { [ -x "$bin/action-validator" ] && [ -x "$bin/gitlab-ci-local" ] && command -v node >/dev/null; }
npm_reason="the npm linters are not installed (make deps-lint installs tests/ci/package-lock.json; it could not here)"

# ---------------------------------------------------------------------
echo "docs: docs/ci.md shows the recipes as they are"
docs_match() {
	local d=$1
	doc_with_files "$d" >"$tmp/doc.expected" || return 2
	if ! diff -u "$d" "$tmp/doc.expected"; then
		echo "docs/ci.md differs from the files in docs/ci/: tests/ci_recipes.sh --sync copies them in"
		return 1
	fi
	grep -E "^MISSING (FENCE|FILE)" "$tmp/doc.expected" && return 1
	# Every recipe is shown or linked.
	for f in "$ci"/*; do
		grep -q "ci/$(basename "$f")" "$d" || { echo "$f is neither shown nor linked in $d"; return 1; }
	done
}
shown=$(grep -c '^<!-- file: ' "$doc")
if [ "$shown" -ge 6 ]; then pass "docs/ci.md shows $shown files"; else fail "docs/ci.md shows $shown files, 6 expected"; fi
accept "docs/ci.md blocks equal their files" docs_match "$doc"
reject "docs/ci.md with a line changed in a block" 'differs from the files in docs/ci/' docs_match \
	"$(broken docs "$doc" 's/exit_codes: \[1\]/exit_codes: [1, 2]/')"

# ---------------------------------------------------------------------
echo "yaml: yamllint"
yaml_files=("$ci"/*.yml "$ci"/*.yaml)
if command -v yamllint >/dev/null; then
	accept "yamllint ${yaml_files[*]}" yamllint -s -c "$tools/yamllint.yml" "${yaml_files[@]}"
	reject "yamllint on a duplicate key" 'key-duplicates' yamllint -s -c "$tools/yamllint.yml" \
		"$(broken yaml "$ci/gitlab-ci.yml" 's/^  stage: test$/  stage: test\n  stage: report/')"
else
	skip "yamllint" "not installed (Debian's yamllint; make deps-lint)"
fi

# ---------------------------------------------------------------------
echo "github: $ci/github-actions.yml"
gh=$ci/github-actions.yml
if have_npm_tools; then
	accept "workflow schema (action-validator)" "$bin/action-validator" "$gh"
	reject "workflow schema, runs-on misspelt" "'runs_on' is not allowed" "$bin/action-validator" \
		"$(broken gh-schema "$gh" 's/runs-on:/runs_on:/')"
	reject "workflow schema, a step with run and uses" '/jobs/shard/steps/1"' "$bin/action-validator" \
		"$(broken gh-schema2 "$gh" 's|^      - uses: actions/checkout@v4$|      - uses: actions/checkout@v4\n        run: make|')"
	accept "policies" node "$tools/validate.mjs" policy github "$gh"
	reject "policies, deploy-pages without environment github-pages" 'needs environment github-pages' node "$tools/validate.mjs" policy github \
		"$(broken gh-env "$gh" 's/name: github-pages /name: pages /')"
	reject "policies, an unused checks: write" 'permission checks: write is granted and never used' node "$tools/validate.mjs" policy github \
		"$(broken gh-checks "$gh" 's/^      pages: write /      checks: write\n      pages: write /')"
	reject "policies, id-token: write missing" 'needs permission id-token: write' node "$tools/validate.mjs" policy github \
		"$(broken gh-oidc "$gh" '/^      id-token: write/d')"
	reject "policies, continue-on-error on the shard" 'step 4: continue-on-error' node "$tools/validate.mjs" policy github \
		"$(broken gh-coe "$gh" 's/^        id: run$/        id: run\n        continue-on-error: true/')"
else
	skip "github" "$npm_reason"
fi

# ---------------------------------------------------------------------
echo "gitlab: $ci/gitlab-ci.yml"
gl=$ci/gitlab-ci.yml
# gitlab-ci-local reads .gitlab-ci.yml in a git work tree and keeps its
# state there: a scratch repository per file.
gitlab_lint() {
	local repo file
	file=$(realpath "$1")
	repo=$(mktemp -d "$tmp/gitlab.XXXXXX")
	git -C "$repo" init -q && cp "$file" "$repo/.gitlab-ci.yml" || return 2
	# shellcheck disable=SC2054 # the option takes a comma-separated list
	local gcl=("$top/$bin/gitlab-ci-local" --ignore-predefined-vars CI_PIPELINE_SOURCE,CI_COMMIT_TAG)
	# --list-all: the schema, extends and needs of every job. Then the
	# needs of the jobs that run in a nightly pipeline and in a release's.
	(cd "$repo" &&
		"${gcl[@]}" --list-all &&
		"${gcl[@]}" --validate-dependency-chain --variable CI_PIPELINE_SOURCE=schedule &&
		"${gcl[@]}" --validate-dependency-chain --variable CI_PIPELINE_SOURCE=push --variable CI_COMMIT_TAG=v1.0.0)
}
if have_npm_tools; then
	accept "GitLab CI schema, extends and needs (gitlab-ci-local)" gitlab_lint "$gl"
	reject "GitLab CI schema, allow_failure exit_code misspelt" "'exit_code' property is not expected" gitlab_lint \
		"$(broken gl-schema "$gl" 's/exit_codes:/exit_code:/')"
	reject "GitLab CI, needs a job that does not exist" 'faultline:merged.*could not be found' gitlab_lint \
		"$(broken gl-needs "$gl" 's/needs: \[faultline:merge\]/needs: [faultline:merged]/')"
	reject "GitLab CI, the gate needs a job a nightly pipeline does not run" 'faultline:merge is when:never, but its needed by faultline:gate' gitlab_lint \
		"$(broken gl-chain "$gl" '/^faultline:merge:/,/^  script:/s/^  needs: \[faultline:shard\].*/&\n  rules:\n    - if: $CI_COMMIT_TAG/')"
	accept "policies" node "$tools/validate.mjs" policy gitlab "$gl"
	reject "policies, exit 2 allowed to fail" 'allow_failure exit code 2' node "$tools/validate.mjs" policy gitlab \
		"$(broken gl-exit2 "$gl" 's/exit_codes: \[1\]/exit_codes: [1, 2]/')"
	reject "policies, a merge that runs after an ERROR (when: always)" 'when: always also run' node "$tools/validate.mjs" policy gitlab \
		"$(broken gl-always "$gl" 's/^    - if: \$CI_COMMIT_TAG .*/&\n      when: always/')"
else
	skip "gitlab" "$npm_reason"
fi

# ---------------------------------------------------------------------
echo "kubernetes: $ci/kubernetes.yaml"
k8s=$ci/kubernetes.yaml
if have_npm_tools; then
	accept "Kubernetes API schema (kubernetes-models, TypeScript)" node "$tools/validate.mjs" kubernetes "$k8s"
	reject "Kubernetes API schema, a misspelt field" 'backoffLimitPerIndx.* does not exist' node "$tools/validate.mjs" kubernetes \
		"$(broken k8s-field "$k8s" 's/backoffLimitPerIndex:/backoffLimitPerIndx:/')"
	reject "Kubernetes API schema, a string for a number" 'parallelism must be integer' node "$tools/validate.mjs" kubernetes \
		"$(broken k8s-type "$k8s" 's/parallelism: 4/parallelism: four/')"
	reject "Kubernetes API schema, completionMode not an allowed value" 'completionMode must be equal to one of the allowed values' node "$tools/validate.mjs" kubernetes \
		"$(broken k8s-enum "$k8s" 's/completionMode: Indexed/completionMode: Indexd/')"
	accept "policies" node "$tools/validate.mjs" policy kubernetes "$k8s"
	reject "policies, FAULTLINE_SHARDS not the completions" 'FAULTLINE_SHARDS=3 but completions=4' node "$tools/validate.mjs" policy kubernetes \
		"$(broken k8s-shards "$k8s" '0,/value: "4"/s//value: "3"/')"
	reject "policies, shards retried" 'backoffLimitPerIndex must be 0' node "$tools/validate.mjs" policy kubernetes \
		"$(broken k8s-retry "$k8s" 's/backoffLimitPerIndex: 0/backoffLimitPerIndex: 2/')"
	reject "policies, an inline script chained with ;" 'must start with set -eu' node "$tools/validate.mjs" policy kubernetes \
		"$(broken k8s-inline "$k8s" 's/command: \[faultline-k8s-report\].*/command: [sh, -c, "faultline merge -o m \/results\/*; faultline gate --baseline b m"]/')"
else
	skip "kubernetes" "$npm_reason"
fi

# ---------------------------------------------------------------------
echo "dockerfile: $ci/Dockerfile (hadolint: not in Debian 12, not on npm from its authors)"
df=$ci/Dockerfile
if have_npm_tools; then
	accept "syntax and flags (dockerfile-utils)" "$bin/dockerfile-utils" lint "$df"
	reject "syntax, a misspelt flag" 'Unknown flag: form' "$bin/dockerfile-utils" lint \
		"$(broken df-flag "$df" 's/COPY --from=build \/out/COPY --form=build \/out/')"
	accept "practice (dockerfilelint)" "$bin/dockerfilelint" "$df"
	reject "practice, apt-get install without -y" '-y' "$bin/dockerfilelint" \
		"$(broken df-apt "$df" 's/apt-get install -y /apt-get install /')"
else
	skip "dockerfile linters" "$npm_reason"
fi
# Structure, with no tool: Debian 12 slim in every stage; every COPY from
# the build context names something in the tree; the runtime stage
# installs the package of every library that faultline, its agent, the
# fixtures and libfiu's preload load (ldd), less those in every Debian
# image (priority required).
dockerfile_structure() {
	local f=$1 ok=0 src lib pkg
	# In every Debian image: the packages of priority required, the
	# essential ones and what those depend on (libc6).
	{
		dpkg-query -W -f='${Package} ${Priority}\n' | awk '$2 == "required" { print $1 }'
		dpkg-query -W -f='${Essential} ${Pre-Depends}, ${Depends}\n' | awk '$1 == "yes"' | cut -d' ' -f2- |
			tr -s ',|' '\n' | sed 's/^ *//; s/[ :(].*//'
	} | sort -u >"$tmp/base-pkgs"
	grep -E '^FROM ' "$f" | grep -vqE '^FROM debian:bookworm-slim( AS [a-z]+)?$' &&
		{ echo "a stage is not FROM debian:bookworm-slim"; ok=1; }
	grep -qE '^FROM ' "$f" || { echo "no FROM"; ok=1; }
	while read -r src; do
		[ -e "$src" ] || { echo "COPY $src: not in the source tree"; ok=1; }
	done < <(awk '/^COPY / && !/--from=/ { for (i = 2; i < NF; i++) print $i }' "$f")
	# The packages the last stage installs.
	awk '/^FROM /{ s = "" } { s = s "\n" $0 } END { print s }' "$f" |
		sed -n '/apt-get install/,/rm -rf/p' | tr -s ' \\' '\n' | grep -E '^[a-z0-9.+-]+[0-9]$' |
		sort -u >"$tmp/runtime-pkgs"
	for lib in $(ldd bin/faultline lib/faultline-agent.so fixtures/bin/* /usr/lib/fiu/fiu_posix_preload.so |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u); do
		pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1)
		[ -n "$pkg" ] || pkg=$(dpkg -S "$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
		[ -n "$pkg" ] || { echo "$lib: no Debian package owns it"; ok=1; continue; }
		grep -qx "$pkg" "$tmp/base-pkgs" && continue
		grep -qx "$pkg" "$tmp/runtime-pkgs" || { echo "$lib ($pkg) is loaded at run time but $f does not install $pkg"; ok=1; }
	done
	return $ok
}
accept "stages, COPY sources, runtime packages (ldd)" dockerfile_structure "$df"
reject "runtime packages, libjansson4 left out" 'does not install libjansson4' dockerfile_structure \
	"$(broken df-pkg "$df" 's/ libjansson4 / /')"
reject "COPY of a path not in the tree" 'COPY scenario/: not in the source tree' dockerfile_structure \
	"$(broken df-copy "$df" 's|^COPY scenarios/ |COPY scenario/ |')"

# The image's file system without Docker: the build stage's install into
# DESTDIR, then the last stage's COPY lines carried out under a scratch
# root (--from=build reads the build stage, whose /src is this tree and
# /out the DESTDIR; other sources come from the tree). A shipped scenario
# must then pass from /suite with the installed faultline and its agent.
image_root() {
	local f=$1 root=$2 out=$3 from src dst args
	make -s --no-print-directory install PREFIX=/usr/local DESTDIR="$out" >/dev/null || return 2
	awk '/^FROM /{ n = 0; delete l } { l[++n] = $0 } END { for (i = 1; i <= n; i++) print l[i] }' "$f" |
		awk '/^COPY / { print }' |
		while read -r -a args; do
			# COPY [--from=STAGE] SRC... DST
			from="" && [ "${args[1]#--from=}" != "${args[1]}" ] && from=${args[1]#--from=}
			local srcs=("${args[@]:1:${#args[@]}-2}") && [ -n "$from" ] && srcs=("${srcs[@]:1}")
			dst=$root${args[${#args[@]}-1]}
			mkdir -p "$dst"
			for src in "${srcs[@]}"; do
				case $from in
				build) src=$(echo "$src" | sed "s|^/src/|$top/|; s|^/out/|$out/|") ;;
				"") src=$top/$src ;;
				*) echo "COPY --from=$from: unknown stage"; return 2 ;;
				esac
				# A directory's contents, or a file, like COPY.
				if [ -d "$src" ]; then cp -a "$src/." "$dst" || return 1; else cp -a "$src" "$dst" || return 1; fi
			done
		done
}
image_runs() {
	local root=$tmp/image-root
	rm -rf "$root" "$tmp/image-out"
	image_root "$1" "$root" "$tmp/image-out" || return 1
	for f in usr/local/bin/faultline usr/local/lib/faultline/faultline-agent.so \
		usr/local/bin/faultline-k8s-shard usr/local/bin/faultline-k8s-report \
		suite/fixtures/bin/fileproc suite/scenarios/fd/fileproc_close_fixed.lua; do
		[ -e "$root/$f" ] || { echo "the image has no /$f"; return 1; }
	done
	[ -x "$root/usr/local/bin/faultline-k8s-shard" ] || { echo "faultline-k8s-shard is not executable"; return 1; }
	(cd "$root/suite" && "$root/usr/local/bin/faultline" run -v --no-report scenarios/fd/fileproc_close_fixed.lua) >"$tmp/image.log" 2>&1
	local st=$?
	cat "$tmp/image.log"
	[ "$st" -eq 0 ] || { echo "the image's faultline exited $st"; return 1; }
}
accept "the image's file system runs a shipped scenario from /suite" image_runs "$df"
reject "the image without the fixtures" 'fixtures/bin/fileproc' image_runs \
	"$(broken df-fixtures "$df" '/^COPY --from=build \/src\/fixtures/d')"

# ---------------------------------------------------------------------
echo "shell: shellcheck"
if command -v shellcheck >/dev/null; then
	accept "the Kubernetes scripts" shellcheck -s sh "$ci/faultline-k8s-shard" "$ci/faultline-k8s-report"
	reject "a script that leaves a path unquoted" 'SC2086' shellcheck -s sh \
		"$(broken sc-quote "$ci/faultline-k8s-report" 's/rm -rf "\$tonight\/merged"/rm -rf $tonight\/merged/')"
	if have_npm_tools; then
		node "$tools/validate.mjs" shell gitlab "$gl" "$tmp/steps" >/dev/null &&
			node "$tools/validate.mjs" shell github "$gh" "$tmp/steps" >/dev/null
		n=$(find "$tmp/steps" -name '*.sh' | wc -l)
		accept "the $n script steps of the GitLab and GitHub recipes" shellcheck -s bash "$tmp/steps"/*.sh
		rm -rf "$tmp/steps"
		node "$tools/validate.mjs" shell github \
			"$(broken sc-step "$gh" 's/> gate.txt || status=\$?/> gate.txt || status=$?; echo $status > $GITHUB_OUTPUT/')" \
			"$tmp/steps" >/dev/null
		reject "a script step that leaves a variable unquoted" 'SC2086' shellcheck -s bash "$tmp/steps"/*.sh
	else
		skip "script steps" "$npm_reason"
	fi
else
	skip "shellcheck" "not installed (Debian's shellcheck; make deps-lint)"
fi

# ---------------------------------------------------------------------
echo "run: the recipes' steps on a small suite"
tgt=$top/build/tests/targets/tgt
if [ ! -x bin/faultline ] || [ ! -x "$tgt" ]; then
	fail "bin/faultline and $tgt are needed: make all build/tests/targets/tgt"
	echo "ci_recipes: $passed passed, $failed failed, $skipped skipped"
	exit 1
fi
export PATH="$top/bin:$top/$ci:$PATH"
# A suite in the layout of the image's /suite: scenarios/ under the working
# directory. pass/*.lua pass; fail.lua FAILs; error.lua does not load.
suite=$tmp/suite
mkdir -p "$suite/scenarios"
scenario() {
	cat <<EOF
return {
  name = "ci recipe $1",
  target = { cmd = { "$tgt" }, ready = { stdout = "READY" } },
  run = function(t)
    t:settle(0.1)
    $2
    t:stop()
    t:expect { exit = 0, leaked = { fds = 0 } }
  end,
}
EOF
}
for k in 1 2 3; do scenario "pass $k" "" >"$suite/scenarios/pass$k.lua"; done
scenario fail 't:fail("failed on purpose")' >"$tmp/fail.lua"
printf 'return {\n  name = "broken",\n  run = function(t)\n    local = 1\n  end,\n}\n' >"$tmp/error.lua"

results=$tmp/results
k8s_env=(env FAULTLINE_RESULTS="$results" FAULTLINE_SHARDS=2 FAULTLINE_TEXTFILE="$tmp/textfile/faultline.prom")
mkdir -p "$tmp/textfile" "$results/release"
# shard NIGHT INDEX: one pod of the Indexed Job; prints its exit status.
shard() {
	(cd "$suite" && "${k8s_env[@]}" FAULTLINE_NIGHT="$1" JOB_COMPLETION_INDEX="$2" faultline-k8s-shard >>"$tmp/shard.log" 2>&1)
	echo $?
}
report() {
	"${k8s_env[@]}" FAULTLINE_NIGHT="$1" faultline-k8s-report >"$tmp/out" 2>&1
	echo $?
}
expect() { # expect NAME WANT GOT
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: $3, expected $2"; fi
}

# The release's results: the same suite, all passing.
(cd "$suite" && faultline run -q --report-dir "$tmp/release-run" scenarios/ >/dev/null 2>&1)
cp "$tmp/release-run/latest/results.json" "$results/release/results.json"

# A night that passes: both shards 0, the report merges, writes the
# OpenMetrics file, the trend and the gate, and exits 0.
expect "kubernetes: shards of a passing night exit" "0 0" "$(shard 20260101 0) $(shard 20260101 1)"
expect "kubernetes: the report of a passing night exits" 0 "$(report 20260101)"
for f in 20260101/merged/index.html 20260101/merged/results.json 20260101/merged/gate.xml trend.html latest/merged/index.html; do
	[ -f "$results/$f" ] && pass "kubernetes: wrote $f" || fail "kubernetes: $f is missing"
done
grep -q '^faultline_run_exit_status' "$tmp/textfile/faultline.prom" &&
	pass "kubernetes: wrote the OpenMetrics file" || fail "kubernetes: no faultline_run_exit_status in $tmp/textfile/faultline.prom"
expect "kubernetes: the merged night has every scenario" 3 \
	"$(grep -o '"id": *"scenarios/pass[0-9].lua' "$results/20260101/merged/results.json" | wc -l)"

# A night with a FAIL: its shard exits 1, the report goes on to the gate,
# which fails on the new failure, and the report exits 1 with the night
# merged and the trend updated.
cp "$tmp/fail.lua" "$suite/scenarios/"
expect "kubernetes: a FAIL's shard exits 1, the other 0" "1 0" \
	"$(printf '%s\n' "$(shard 20260102 0)" "$(shard 20260102 1)" | sort -r | tr '\n' ' ' | sed 's/ $//')"
expect "kubernetes: the report of a night with a FAIL exits (the gate's 1)" 1 "$(report 20260102)"
grep -q "newly failing" "$tmp/out" && pass "kubernetes: the gate names the new failure" ||
	fail "kubernetes: the gate's output does not name the new failure"
[ -f "$results/20260102/merged/index.html" ] && pass "kubernetes: the night with a FAIL is merged and published" ||
	fail "kubernetes: the night with a FAIL was not merged"
[ "$(readlink "$results/latest")" = 20260102 ] && pass "kubernetes: latest points at the new night" ||
	fail "kubernetes: latest points at $(readlink "$results/latest")"
rm "$suite/scenarios/fail.lua"

# A night with a shard missing: the report refuses before merging.
expect "kubernetes: one shard of a night" 0 "$(shard 20260103 0)"
expect "kubernetes: the report of a night with a shard missing exits" 2 "$(report 20260103)"
grep -q "shard 1 of 2 has not finished" "$tmp/out" && pass "kubernetes: the report names the missing shard" ||
	fail "kubernetes: the report does not name the missing shard"
[ ! -e "$results/20260103/merged" ] && pass "kubernetes: nothing merged, gated or trended for it" ||
	fail "kubernetes: a partial night was merged"

# A night with an ERROR: its shard exits 2 (the pod fails) and the report
# refuses it, even though the shard wrote results.
cp "$tmp/error.lua" "$suite/scenarios/"
got="$(shard 20260104 0) $(shard 20260104 1)"
case $got in *2*) pass "kubernetes: the ERROR's shard exits 2 ($got)" ;; *) fail "kubernetes: shards of a night with an ERROR exit $got" ;; esac
expect "kubernetes: the report of a night with an ERROR exits" 2 "$(report 20260104)"
grep -q "exited 2" "$tmp/out" && pass "kubernetes: the report names the shard's ERROR" ||
	fail "kubernetes: the report does not name the ERROR"
rm "$suite/scenarios/error.lua"

# GitLab's shard job: its script lines in one bash, as the runner runs
# them; the job's status is faultline's (1 is allowed to fail, 2 is not).
if have_npm_tools; then
	rm -rf "$tmp/steps"
	node "$tools/validate.mjs" shell gitlab "$gl" "$tmp/steps" >/dev/null
	node "$tools/validate.mjs" shell github "$gh" "$tmp/steps" >/dev/null
	# job DIR EXTRA: a job's checkout: the suite, bin/, and EXTRA.
	job() {
		rm -rf "$1" && mkdir -p "$1" && cp -r "$suite/scenarios" "$1/" && ln -s "$top/bin" "$1/bin"
		[ -z "$2" ] || cp "$2" "$1/scenarios/"
	}
	# verdicts FILE: FAIL and ERROR verdicts in a results file, as "1" (a
	# FAIL), "2" (an ERROR) or "0": the status its shard must exit with.
	want_status() {
		if grep -q '"verdict": *"ERROR"' "$1"; then echo 2
		elif grep -q '"verdict": *"FAIL"' "$1"; then echo 1
		else echo 0; fi
	}
	gitlab_shard() { # INDEX EXTRA: prints the job's exit status and the one its results call for
		local dir=$tmp/gitlab-job-$1
		job "$dir" "$2"
		(cd "$dir" && CI_NODE_INDEX=$1 CI_NODE_TOTAL=2 bash "$tmp/steps/gitlab-faultline_shard.sh" >/dev/null 2>&1)
		echo "$? $(want_status "$dir/shard-$1/results.json" 2>/dev/null)"
	}
	# Each scenario falls in one share: a shard's job must exit 1 exactly
	# when its share holds the FAIL, 2 exactly when it holds the ERROR.
	expect "gitlab: passing shards' jobs exit (got, wanted)" "0 0,0 0" "$(gitlab_shard 1 ""),$(gitlab_shard 2 "")"
	[ -f "$tmp/gitlab-job-1/shard-1/results.json" ] && pass "gitlab: the shard's report is kept under shard-1/" ||
		fail "gitlab: no shard-1/results.json"
	got="$(gitlab_shard 1 "$tmp/fail.lua"),$(gitlab_shard 2 "$tmp/fail.lua")"
	case $got in "1 1,0 0" | "0 0,1 1") pass "gitlab: the FAIL's shard job exits 1, the other 0 ($got)" ;;
		*) fail "gitlab: shard jobs with a FAIL exit (got, wanted) $got" ;; esac
	got="$(gitlab_shard 1 "$tmp/error.lua"),$(gitlab_shard 2 "$tmp/error.lua")"
	case $got in "2 2,0 0" | "0 0,2 2") pass "gitlab: the ERROR's shard job exits 2, the other 0 ($got)" ;;
		*) fail "gitlab: shard jobs with an ERROR exit (got, wanted) $got" ;; esac
	(cd "$tmp/gitlab-job-1" && cp -r ../gitlab-job-2/shard-2 . &&
		bash "$tmp/steps/gitlab-faultline_merge.sh" >/dev/null 2>&1 && [ -f merged/index.html ] && [ -f merged/faultline.prom ])
	expect "gitlab: the merge job on both shards exits" 0 $?
	(cd "$tmp/gitlab-job-1" && rm -rf merged shard-2 && bash "$tmp/steps/gitlab-faultline_merge.sh" >/dev/null 2>&1)
	expect "gitlab: the merge job with a shard missing exits" 1 $?

	# GitHub: the shard's run step records the status, the last step fails
	# the job with it, the report's first step refuses an ERROR.
	github_shard() { # INDEX EXTRA: prints the job's exit status and the one its results call for
		local dir=$tmp/github-job-$1
		job "$dir" "$2"
		(cd "$dir" && SHARD=$1 SHARDS=2 GITHUB_OUTPUT="$dir/output" bash "$tmp/steps/github-shard-run.sh" >/dev/null 2>&1) ||
			{ echo "the run step failed"; return; }
		mkdir -p "$tmp/github-report/shards" && cp -r "$dir/shard" "$tmp/github-report/shards/shard-$1"
		STATUS=$(sed -n 's/^status=//p' "$dir/output") bash "$tmp/steps/github-shard-exit_with_faultline_s_status.sh" 2>/dev/null
		echo "$? $(want_status "$dir/shard/results.json")"
	}
	github_check() {
		(cd "$tmp/github-report" && SHARDS=2 bash "$tmp/steps/github-report-check_that_every_shard_finished_with_a_result.sh" >/dev/null 2>&1)
		echo $?
	}
	rm -rf "$tmp/github-report"
	got="$(github_shard 1 "$tmp/fail.lua"),$(github_shard 2 "$tmp/fail.lua")"
	case $got in "1 1,0 0" | "0 0,1 1") pass "github: the FAIL's shard job exits 1, the other 0 ($got)" ;;
		*) fail "github: shard jobs with a FAIL exit (got, wanted) $got" ;; esac
	expect "github: the report's check of a night with a FAIL exits" 0 "$(github_check)"
	rm -rf "$tmp/github-report"
	got="$(github_shard 1 "$tmp/error.lua"),$(github_shard 2 "$tmp/error.lua")"
	case $got in "2 2,0 0" | "0 0,2 2") pass "github: the ERROR's shard job exits 2, the other 0 ($got)" ;;
		*) fail "github: shard jobs with an ERROR exit (got, wanted) $got" ;; esac
	expect "github: the report's check of a night with an ERROR exits" 2 "$(github_check)"
	rm -rf "$tmp/github-report"
	github_shard 1 "" >/dev/null
	expect "github: the report's check of a night with a shard missing exits" 2 "$(github_check)"
else
	skip "gitlab and github steps" "$npm_reason"
fi

echo "ci_recipes: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
