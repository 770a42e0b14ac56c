/* The page shell: the policy that lets only the page's own style and
 * script apply (named by their SHA-256, so no 'unsafe-inline'), the
 * palette, and the style sheet and script of the report. */
#define _GNU_SOURCE
#include "html.h"

#include "report.h"
#include "sha256.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_html_seconds(char *out, size_t len, double s)
{
	fl_fmt_seconds(out, len, s);
}

static void base64(fl_buf *b, const unsigned char *d, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				  "0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < n)
			v |= d[i + 2];
		fl_buf_putc(b, abc[(v >> 18) & 63]);
		fl_buf_putc(b, abc[(v >> 12) & 63]);
		fl_buf_putc(b, i + 1 < n ? abc[(v >> 6) & 63] : '=');
		fl_buf_putc(b, i + 2 < n ? abc[v & 63] : '=');
	}
}

static void put_hash(fl_buf *b, const char *text)
{
	unsigned char h[32];
	fl_sha256(text, strlen(text), h);
	fl_buf_puts(b, "'sha256-");
	base64(b, h, sizeof h);
	fl_buf_putc(b, '\'');
}

void fl_html_csp(fl_buf *b, const char *style, const char *script)
{
	fl_buf_puts(b, "<meta http-equiv=\"Content-Security-Policy\" "
		       "content=\"default-src 'none'; img-src data:; "
		       "base-uri 'none'; form-action 'none'; style-src ");
	if (style)
		put_hash(b, style);
	else
		fl_buf_puts(b, "'none'");
	fl_buf_puts(b, "; script-src ");
	if (script)
		put_hash(b, script);
	else
		fl_buf_puts(b, "'none'");
	fl_buf_puts(b, "\">");
}

/* ------------------------------------------------------------------ */
/* Style and script. The policy above allows exactly these two texts, so
 * the page uses no style attributes and no event-handler attributes. */

/* The colour of each verdict's badge; an unreadable verdict is grey. */
static const char *const verdict_colors[FL_VERDICT_COUNT] = {
	[FL_VERDICT_PASS] = "#2e7d32",	[FL_VERDICT_FAIL] = "#c62828",
	[FL_VERDICT_ERROR] = "#6a1b9a", [FL_VERDICT_XFAIL] = "#5d7a8c",
	[FL_VERDICT_XPASS] = "#e65100", [FL_VERDICT_FLAKY] = "#9a7000",
};
#define UNKNOWN_COLOR "#455a64"

const char *fl_html_verdict_color(fl_verdict v)
{
	const char *c = (int)v >= 0 && v < FL_VERDICT_COUNT ? verdict_colors[v] : NULL;
	return c ? c : UNKNOWN_COLOR;
}

void fl_html_verdict_css(fl_buf *b, const char *selector, const char *property)
{
	for (int v = 0; v <= FL_VERDICT_COUNT; v++) {
		fl_verdict verdict = v < FL_VERDICT_COUNT ? (fl_verdict)v
							  : FL_VERDICT_UNKNOWN;
		fl_buf_printf(b, selector, fl_verdict_name(verdict));
		fl_buf_printf(b, "{%s:%s}", property, fl_html_verdict_color(verdict));
	}
}

/* How a page names and colours each figure. A figure without a row here
 * still shows everywhere, under its title and in grey. */
static const struct {
	const char *label;	/* "fds": column headers, tooltips */
	const char *color;
} figure_looks[FL_FIG_COUNT] = {
	[FL_FIG_FDS] = {"fds", "#d84315"},
	[FL_FIG_THREADS] = {"threads", "#6a1b9a"},
	[FL_FIG_RSS] = {"RSS", "#1565c0"},
	[FL_FIG_FILES] = {"watched files", "#00796b"},
	[FL_FIG_PROCS] = {"processes", "#5d4037"},
};

const char *fl_html_figure_label(enum fl_figure f)
{
	const char *l = figure_looks[f].label;
	return l ? l : fl_figures[f].title;
}

const char *fl_html_figure_color(enum fl_figure f)
{
	const char *c = figure_looks[f].color;
	return c ? c : "#607d8b";
}

void fl_html_figure_css(fl_buf *b, const char *selector, const char *property)
{
	for (int k = 0; k < FL_FIG_COUNT; k++) {
		fl_buf_printf(b, selector, fl_figures[k].key);
		fl_buf_printf(b, "{%s:%s}", property,
			      fl_html_figure_color((enum fl_figure)k));
	}
}

static const char css_head[] =
	"[hidden]{display:none!important}"
	"body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;"
	"background:#f6f7f9}"
	"header,main>section{max-width:1100px;margin:0 auto;padding:10px 20px}"
	"h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:16px 0 6px}"
	"h3{font-size:14px;margin:16px 0 4px}"
	"table{border-collapse:collapse;background:#fff;margin:4px 0}"
	"td,th{border:1px solid #d8dce3;padding:3px 7px;text-align:left;"
	"vertical-align:top}th{background:#eef0f4}"
	"th.sortable{cursor:pointer;user-select:none}"
	"th[aria-sort=ascending]::after{content:' \\25B2'}"
	"th[aria-sort=descending]::after{content:' \\25BC'}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}"
	".v{display:inline-block;min-width:52px;text-align:center;"
	"font-weight:600;border-radius:3px;padding:0 5px;color:#fff;"
	"border:0;font-size:13px}";
/* ... the verdicts' colours between the two ... */
static const char css_tail[] =
	"button.v{cursor:pointer;padding:2px 8px;margin:0 4px 4px 0}"
	"button.v.zero{opacity:.45}"
	"button.v[aria-pressed=true]{outline:3px solid #1d2330}"
	".gate{font-size:18px;font-weight:700;padding:6px 12px;border-radius:4px;"
	"display:inline-block;color:#fff;margin:4px 0}"
	".gate-pass{background:#2e7d32}.gate-fail{background:#c62828}"
	".facts th{width:110px}"
	".scenario{background:#fff;border:1px solid #d8dce3;border-radius:6px;"
	"margin:14px auto;max-width:1060px}"
	".msg{font-weight:600;white-space:pre-wrap;margin:4px 0}"
	".warn{background:#fff4e5;border:1px solid #f0c36d;border-radius:4px;"
	"padding:6px 10px;margin:6px 0}"
	"pre{background:#1d2330;color:#e8eaf0;padding:8px;overflow:auto;"
	"max-height:320px;white-space:pre-wrap;word-break:break-all}"
	"code{background:#eef0f4;padding:1px 4px;border-radius:3px;"
	"word-break:break-all}"
	".ok{color:#2e7d32}.bad{color:#c62828;font-weight:600}"
	".chart{position:relative}.tip{position:absolute;pointer-events:none;"
	"background:#1d2330;color:#fff;padding:4px 7px;border-radius:3px;"
	"font-size:12px;white-space:pre;z-index:2}"
	"svg{display:block}"
	"svg text{font-size:11px;fill:#4a5263}svg text.pt{font-weight:600;"
	"fill:#1d2330}.pane{fill:#fff;stroke:#c9ced8}"
	".grid{stroke:#e6e8ed;fill:none}"
	".win{fill:#ff7043;fill-opacity:.18}.band{fill:#43a047;"
	"fill-opacity:.22;stroke:#2e7d32;stroke-opacity:.5;stroke-width:.8}"
	"svg text.bandlab{font-size:10px;fill:#2e7d32}"
	".base{stroke:#2e7d32;stroke-dasharray:5 3}"
	".rec{stroke:#1565c0;stroke-width:1.5;stroke-dasharray:3 2}"
	".miss{stroke:#c62828;stroke-width:1.5;stroke-dasharray:2 2}"
	".oom{stroke:#b71c1c;stroke-width:2}"
	".cursor{stroke:#1d2330;stroke-opacity:.5}"
	".line{fill:none;stroke-width:1.4;stroke-linejoin:round}";
/* ... the figures' colours ... */
static const char css_end[] =
	".h-ok{fill:#a5d6a7}.h-bad{fill:#c62828}"
	".fired{stroke:#e64a19;stroke-width:1}"
	".legend{font-size:12px;color:#4a5263;margin:2px 0 8px}"
	".legend span{margin-right:14px;white-space:nowrap}"
	".legend i{display:inline-block;width:14px;height:10px;margin-right:4px;"
	"vertical-align:middle}"
	"i.k-win{background:#ffd3c4}i.k-band{background:#d7ecd8;"
	"border-top:2px dashed #2e7d32}i.k-rec{border-left:2px dashed #1565c0;"
	"width:2px}i.k-miss{border-left:2px dotted #c62828;width:2px}"
	"i.k-oom{border-left:2px solid #b71c1c;width:2px}"
	"i.k-hbad{background:#c62828;height:6px}i.k-fired{background:#e64a19;"
	"width:2px}"
	"#filter{padding:4px 8px;width:300px;margin:6px 8px 6px 0}"
	"td.msgcol{min-width:14em;max-width:360px;overflow-wrap:anywhere;font-size:13px}"
	"td.msgcol[title]{cursor:help}"
	/* The sweep's map: outcomes coloured as the verdicts they give. */
	".o{display:inline-block;border-radius:3px;padding:0 6px;color:#fff;"
	"font-weight:600;font-size:13px;background:#455a64;margin-right:4px}"
	".o-handled{background:#2e7d32}.o-crashed,.o-exited,.o-leaked,"
	".o-unrecovered,.o-failed{background:#c62828}.o-flaky{background:#9a7000}"
	".o-unreached,.o-error{background:#6a1b9a}"
	".o-not-tried,.o-other-shard{background:#90a4ae}"
	"table.map{width:100%}tr.file th{background:#dfe3ea}"
	"tr.fn td{font-style:italic;color:#4a5263;background:#f2f4f7}"
	"ol.stack{margin:4px 0;padding-left:22px}"
	".muted{color:#6b7385}a.up{font-size:12px;font-weight:400;"
	"margin-left:8px}";

/* Sorting and filtering of the table, and the values under the mouse on
 * the charts. It reads only data embedded in this file, and marks the
 * document once it has run to the end (the browser test looks for it). */
static const char script_head[] = "(function(){'use strict';var D=document,G=";
/* ... G, the figures of the hover readout: [short key, label, in bytes] ... */
static const char script_body[] =
	";"
	"function each(l,f){Array.prototype.forEach.call(l,f);}"
	"var t=D.getElementById('sc'),q=D.getElementById('filter'),only={};"
	"function apply(){if(!t)return;var s=q?q.value.toLowerCase():'',"
	"any=Object.keys(only).length>0,shown=0;"
	"each(t.tBodies[0].rows,function(r){var ok=(!any||only[r.dataset.verdict])"
	"&&r.textContent.toLowerCase().indexOf(s)>=0;r.hidden=!ok;if(ok)shown++;});"
	"var c=D.getElementById('shown');if(c)c.textContent=shown+' of '+"
	"t.tBodies[0].rows.length+' shown';}"
	"if(q)q.addEventListener('input',apply);"
	"each(D.querySelectorAll('button[data-verdict]'),function(b){"
	"b.addEventListener('click',function(){var v=b.dataset.verdict;"
	"if(only[v])delete only[v];else only[v]=1;"
	"b.setAttribute('aria-pressed',only[v]?'true':'false');apply();});});"
	"if(t)each(t.tHead.rows[0].cells,function(h){"
	"if(!h.classList.contains('sortable'))return;"
	"h.addEventListener('click',function(){var k=h.cellIndex,"
	"asc=h.getAttribute('aria-sort')!=='ascending';"
	"each(t.tHead.rows[0].cells,function(o){o.removeAttribute('aria-sort');});"
	"h.setAttribute('aria-sort',asc?'ascending':'descending');"
	"var rows=Array.prototype.slice.call(t.tBodies[0].rows);"
	"rows.sort(function(a,b){var x=a.cells[k].dataset.s,y=b.cells[k].dataset.s;"
	"if(x===''||y==='')return x===y?0:x===''?1:-1;"
	"var nx=parseFloat(x),ny=parseFloat(y),c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:"
	"x<y?-1:x>y?1:0;return asc?c:-c;});"
	"rows.forEach(function(r){t.tBodies[0].appendChild(r);});});});"
	"function bytes(v){var u=['B','KiB','MiB','GiB'],i=0;"
	"while(Math.abs(v)>=1024&&i<3){v/=1024;i++;}"
	"return(i?v.toFixed(1):v.toFixed(0))+' '+u[i];}"
	"function un(a,w){if(!a)return null;var o=[];for(var i=0;i<a.length;i+=w+1)"
	"for(var k=0;k<a[i];k++)o.push(a.slice(i+1,i+1+w));return o;}"
	"function fig(v,f){var lo=v[0],hi=lo+v[1];"
	"return lo===hi?f(lo):f(lo)+' to '+f(hi);}"
	"each(D.querySelectorAll('.chart'),function(c){"
	"var d=JSON.parse(D.getElementById(c.dataset.src).textContent),n=d.n,"
	"V=G.map(function(g){return un(d[g[0]],2);}),F=V.filter(Boolean)[0],"
	"HP=un(d.hp,1),HF=un(d.hf,1),J=un(d.jf,1);if(!F)return;"
	"var svg=c.querySelector('svg'),tip=c.querySelector('.tip'),"
	"cur=svg.querySelector('.cursor');"
	"function hide(){tip.hidden=true;cur.setAttribute('visibility','hidden');}"
	"svg.addEventListener('mousemove',function(e){"
	"var r=svg.getBoundingClientRect(),vb=svg.viewBox.baseVal,"
	"px=(e.clientX-r.left)*vb.width/r.width,col=Math.floor(px-d.x0),i=-1;"
	"if(px<d.x0||px>d.x0+n){hide();return;}"
	"for(var o=0;o<8&&i<0;o++){if(col-o>=0&&col-o<n&&F[col-o][0]!==null)i=col-o;"
	"else if(col+o>=0&&col+o<n&&F[col+o][0]!==null)i=col+o;}"
	"if(i<0){hide();return;}"
	"var s='t '+(i*d.tmax/n).toFixed(3)+' to '+((i+1)*d.tmax/n).toFixed(3)+' s';"
	"G.forEach(function(g,k){if(V[k])s+='\\n'+g[1]+' '+fig(V[k][i],g[2]?"
	"function(v){return bytes(v*1024);}:String);});"
	"if(HP&&HP[i][0])s+='\\nhealth '+(HP[i][0]-HF[i][0])+' of '+HP[i][0]+' probes ok';"
	"if(J&&J[i][0])s+='\\nfaults fired '+J[i][0];"
	"tip.textContent=s;tip.hidden=false;var x=d.x0+i+0.5;"
	"cur.setAttribute('x1',x);cur.setAttribute('x2',x);"
	"cur.setAttribute('visibility','visible');"
	"var left=e.clientX-r.left+14;if(left+tip.offsetWidth>r.width)"
	"left=e.clientX-r.left-tip.offsetWidth-14;"
	"tip.style.left=left+'px';tip.style.top=(e.clientY-r.top+12)+'px';});"
	"svg.addEventListener('mouseleave',hide);});"
	"apply();D.documentElement.setAttribute('data-fl-ready','1');})();";

/* The figures of the hover readout come from the table, as JSON (so
 * nothing in a label can end the script). */
void fl_html_report_script(fl_buf *b)
{
	json_t *figs = json_array();
	for (int k = 0; k < FL_FIG_COUNT; k++)
		if (json_array_append_new(
			    figs, json_pack("[s,s,b]", fl_figures[k].short_key,
					    fl_html_figure_label((enum fl_figure)k),
					    fl_figures[k].bytes)))
			fl_out_of_memory();
	char *text = json_dumps(figs, JSON_COMPACT);
	if (!text)
		fl_out_of_memory();
	json_decref(figs);
	fl_buf_puts(b, script_head);
	fl_escape_script_json(b, text);
	fl_buf_puts(b, script_body);
	free(text);
}

void fl_html_report_css(fl_buf *b)
{
	fl_buf_puts(b, css_head);
	fl_html_verdict_css(b, ".v-%s", "background");
	fl_buf_puts(b, css_tail);
	fl_html_figure_css(b, ".l-%s", "stroke");
	fl_buf_puts(b, css_end);
}
