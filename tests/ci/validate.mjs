// Checks of the CI recipes in docs/ci/ that need a YAML parser, called by
// tests/ci_recipes.sh once the linters of package.json are installed:
//
//   node validate.mjs kubernetes FILE   every document against the Kubernetes
//                                       API schema: kubernetes-models' validators
//                                       (types, required fields, enums), then
//                                       TypeScript's excess-property check on the
//                                       same models (unknown fields, which the
//                                       validators let through)
//   node validate.mjs policy KIND FILE  the rules that keep a recipe's exit
//                                       statuses and permissions right, which no
//                                       schema knows (KIND: github, gitlab,
//                                       kubernetes); see the rules below
//   node validate.mjs shell KIND FILE DIR
//                                       writes each shell script of the recipe
//                                       (GitLab before_script + script, GitHub
//                                       run:) to DIR, for shellcheck and
//                                       to run: KIND-JOB.sh for GitLab,
//                                       KIND-JOB-STEP.sh for GitHub, STEP
//                                       being the step's id, else its name,
//                                       else its number (non-word
//                                       characters become _)
//
// Exit status: 0 valid, 1 a finding (printed as FILE: message), 2 bad usage
// or an unreadable file.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));

function die(msg) {
	console.error(`validate.mjs: ${msg}`);
	process.exit(2);
}

function readDocs(file) {
	let text;
	try {
		text = fs.readFileSync(file, "utf8");
	} catch (e) {
		die(`${file}: ${e.message}`);
	}
	const docs = parseAllDocuments(text, { uniqueKeys: true });
	const out = [];
	for (const d of docs) {
		if (d.errors.length)
			die(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
		const v = d.toJS();
		if (v !== null && v !== undefined)
			out.push(v);
	}
	return out;
}

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// ---------------------------------------------------------------------
// Kubernetes: the models of the API objects, generated from Kubernetes'
// OpenAPI document.
async function kubernetes(file) {
	const docs = readDocs(file);
	const findings = [];
	const decls = [];
	for (const [i, doc] of docs.entries()) {
		const where = `document ${i + 1} (${doc.kind ?? "?"} ${doc.metadata?.name ?? "?"})`;
		if (!isObj(doc) || typeof doc.apiVersion !== "string" || typeof doc.kind !== "string") {
			findings.push(`${where}: not a Kubernetes object (apiVersion and kind)`);
			continue;
		}
		// "batch/v1" lives in batch/v1/, the core group's "v1" in v1/.
		const mod = `kubernetes-models/${doc.apiVersion}/${doc.kind}`;
		let model;
		try {
			model = (await import(mod))[doc.kind];
		} catch {
			findings.push(`${where}: unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`);
			continue;
		}
		try {
			new model(doc).validate();
		} catch (e) {
			findings.push(`${where}: ${e.message}`);
		}
		decls.push(`import type { I${doc.kind} as T${i} } from "${mod}";\n` +
			   `export const doc${i}: T${i} = ${JSON.stringify(doc, null, 1)};\n`);
	}
	if (decls.length)
		findings.push(...typecheck(decls.join("\n")));
	return findings;
}

// The documents as TypeScript object literals typed by the models: an
// object literal may only name known properties, so a misspelt or invented
// field is an error here.
function typecheck(source) {
	const ts = createRequire(import.meta.url)("typescript");
	const name = path.join(here, "__manifests__.ts");
	const options = {
		strict: true,
		noEmit: true,
		skipLibCheck: true,
		target: ts.ScriptTarget.ES2020,
		module: ts.ModuleKind.CommonJS,
		moduleResolution: ts.ModuleResolutionKind.Node10,
		types: [],
	};
	const host = ts.createCompilerHost(options);
	const getSourceFile = host.getSourceFile.bind(host);
	host.getSourceFile = (f, lang) =>
		f === name ? ts.createSourceFile(f, source, lang) : getSourceFile(f, lang);
	const fileExists = host.fileExists.bind(host);
	host.fileExists = (f) => f === name || fileExists(f);
	const program = ts.createProgram([name], options, host);
	return ts.getPreEmitDiagnostics(program).map((d) => {
		const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
		if (d.file && d.start !== undefined) {
			const { line } = d.file.getLineAndCharacterOfPosition(d.start);
			const doc = /export const doc(\d+)/.exec(
				source.split("\n").slice(0, line + 1).reverse().find((l) => l.startsWith("export const doc")) ?? "");
			return `document ${doc ? Number(doc[1]) + 1 : "?"}: ${text}`;
		}
		return text;
	});
}

// ---------------------------------------------------------------------
// Policies: what went wrong in earlier versions of these recipes.
function steps(job) {
	return Array.isArray(job?.steps) ? job.steps : [];
}

function policyGithub(wf) {
	const f = [];
	const writes = (perms) =>
		isObj(perms) ? Object.entries(perms).filter(([, v]) => v === "write").map(([k]) => k)
			: perms === "write-all" ? ["*"] : [];
	// Write permissions belong to the job that uses them.
	for (const p of writes(wf.permissions))
		f.push(`workflow-level permission ${p}: write (grant it to the job that needs it)`);
	for (const [name, job] of Object.entries(wf.jobs ?? {})) {
		if ("continue-on-error" in job)
			f.push(`job ${name}: continue-on-error turns faultline's exit 2 (ERROR) green`);
		const deploys = steps(job).findIndex((s) => /^actions\/deploy-pages@/.test(s.uses ?? ""));
		for (const [i, s] of steps(job).entries())
			if ("continue-on-error" in s)
				f.push(`job ${name}, step ${i + 1}: continue-on-error turns faultline's exit 2 (ERROR) green`);
		// What actions/deploy-pages needs to deploy at all.
		const needed = deploys >= 0 ? ["pages", "id-token"] : [];
		for (const p of writes(job.permissions))
			if (!needed.includes(p))
				f.push(`job ${name}: permission ${p}: write is granted and never used`);
		if (deploys < 0)
			continue;
		for (const p of needed)
			if (!writes(job.permissions).includes(p))
				f.push(`job ${name}: actions/deploy-pages needs permission ${p}: write`);
		const env = isObj(job.environment) ? job.environment.name : job.environment;
		if (env !== "github-pages")
			f.push(`job ${name}: actions/deploy-pages needs environment github-pages (has ${env ?? "none"})`);
		if (!steps(job).slice(0, deploys).some((s) => /^actions\/upload-pages-artifact@/.test(s.uses ?? "")))
			f.push(`job ${name}: actions/deploy-pages needs an actions/upload-pages-artifact step before it`);
	}
	return f;
}

function policyGitlab(ci) {
	const f = [];
	for (const [name, job] of Object.entries(ci)) {
		if (!isObj(job))
			continue;
		const af = job.allow_failure;
		if (af === true)
			f.push(`job ${name}: allow_failure: true lets an ERROR (exit 2) pass`);
		if (isObj(af)) {
			const codes = [].concat(af.exit_codes ?? []);
			for (const c of codes)
				if (c !== 1)
					f.push(`job ${name}: allow_failure exit code ${c}: only a FAIL (1) may let the pipeline go on`);
		}
		// A job that runs "always" also runs after a shard's ERROR.
		for (const r of [].concat(job.rules ?? []))
			if (r?.when === "always")
				f.push(`job ${name}: rules with when: always also run after an ERROR`);
		if (job.when === "always")
			f.push(`job ${name}: when: always also runs after an ERROR`);
		const script = [].concat(job.script ?? []).join("\n");
		if (job.parallel !== undefined && !/--shard auto\b/.test(script))
			f.push(`job ${name}: parallel jobs must run faultline with --shard auto`);
	}
	return f;
}

function policyKubernetes(docs) {
	const f = [];
	const zones = new Set();
	for (const doc of docs) {
		const name = `${doc.kind} ${doc.metadata?.name}`;
		let job = doc.kind === "Job" ? doc.spec : undefined;
		if (doc.kind === "CronJob") {
			job = doc.spec?.jobTemplate?.spec;
			zones.add(doc.spec?.timeZone);
		}
		if (!job)
			continue;
		const pod = job.template?.spec ?? {};
		if (pod.restartPolicy !== "Never")
			f.push(`${name}: restartPolicy must be Never (a pod restarted in place would run its shard twice)`);
		if (job.completionMode === "Indexed") {
			if (job.backoffLimitPerIndex !== 0)
				f.push(`${name}: backoffLimitPerIndex must be 0 (a FAIL is a result, not a crash to retry; one index must not stop the others)`);
			for (const c of pod.containers ?? []) {
				const shards = (c.env ?? []).find((e) => e.name === "FAULTLINE_SHARDS")?.value;
				if (String(shards) !== String(job.completions))
					f.push(`${name}: container ${c.name}: FAULTLINE_SHARDS=${shards} but completions=${job.completions}`);
			}
		} else if (job.backoffLimit !== 0) {
			f.push(`${name}: backoffLimit must be 0 (the gate's verdict does not change on a retry)`);
		}
		for (const c of pod.containers ?? []) {
			// An inline script chained with ';' ignores its failures.
			const argv = [...(c.command ?? []), ...(c.args ?? [])];
			const i = argv.indexOf("-c");
			if (i > 0 && /(^|\/)(ba)?sh$/.test(argv[0]) && !/^\s*set -e/.test(argv[i + 1] ?? ""))
				f.push(`${name}: container ${c.name}: an inline shell script must start with set -eu`);
		}
	}
	if (zones.size > 1)
		f.push(`the CronJobs run in different time zones (${[...zones].join(", ")}): they name the night differently`);
	if (zones.has(undefined))
		f.push("a CronJob has no timeZone: the night's name would follow the controller's clock");
	return f;
}

// ---------------------------------------------------------------------
// Shell scripts embedded in a recipe, one file each. GitHub's ${{ }}
// expressions become a word of the same length, as a runner would leave a
// plain word there.
function shell(kind, file, dir) {
	const [doc] = readDocs(file);
	fs.mkdirSync(dir, { recursive: true });
	const lines = (v) => [].concat(v ?? []).map(String);
	const out = [];
	if (kind === "gitlab") {
		for (const [name, job] of Object.entries(doc)) {
			if (!isObj(job) || !(job.script || job.before_script))
				continue;
			out.push([name, [...lines(job.before_script), ...lines(job.script)].join("\n")]);
		}
	} else if (kind === "github") {
		for (const [name, job] of Object.entries(doc.jobs ?? {}))
			for (const [i, s] of steps(job).entries())
				if (typeof s.run === "string")
					out.push([`${name}-${s.id ?? s.name ?? i + 1}`,
						  s.run.replace(/\$\{\{.*?\}\}/g, (m) => "_".repeat(m.length))]);
	} else {
		die(`shell: unknown kind ${kind}`);
	}
	for (const [name, body] of out) {
		const f = path.join(dir, `${kind}-${name.replace(/[^A-Za-z0-9_-]/g, "_")}.sh`);
		// GitLab's runner and GitHub's bash both run with -e and pipefail.
		fs.writeFileSync(f, `#!/bin/bash\nset -eo pipefail\n${body}\n`);
		console.log(f);
	}
	return [];
}

// ---------------------------------------------------------------------
const [cmd, ...args] = process.argv.slice(2);
let findings;
if (cmd === "kubernetes" && args.length === 1) {
	findings = await kubernetes(args[0]);
} else if (cmd === "policy" && args.length === 2) {
	const docs = readDocs(args[1]);
	const rules = { github: (d) => policyGithub(d[0]), gitlab: (d) => policyGitlab(d[0]),
			kubernetes: policyKubernetes }[args[0]];
	if (!rules)
		die(`policy: unknown kind ${args[0]}`);
	findings = rules(docs);
} else if (cmd === "shell" && args.length === 3) {
	findings = shell(args[0], args[1], args[2]);
} else {
	die("usage: validate.mjs kubernetes FILE | policy KIND FILE | shell KIND FILE DIR");
}
for (const m of findings)
	console.log(`${args[args.length - (cmd === "shell" ? 2 : 1)]}: ${m}`);
process.exit(findings.length ? 1 : 0);
