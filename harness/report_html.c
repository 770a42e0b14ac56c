/* The HTML resilience report: one self-contained file. Styles, charts and
 * script are inline, and a Content-Security-Policy lets nothing else load:
 * no request leaves the page, and only the one script and the one style
 * sheet written here (named by their SHA-256) may run or apply, so even a
 * byte that escaped escaping could not execute.
 *
 * Charts are SVG drawn here from the samples, thinned to one pixel column
 * each: a column keeps its minimum and maximum (a one-sample spike stays
 * visible however long the run), the hover readout reads the same
 * per-column figures from a JSON block, and flat stretches collapse into
 * single path commands, so a minute at 1000 Hz costs no more than a
 * second. Everything that came from a target or a scenario is escaped. */
#define _GNU_SOURCE
#include "report.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chart geometry, in viewBox units; one unit per pixel column at the
 * page's usual width. */
#define CHART_W 880
#define MARGIN_L 72
#define MARGIN_R 8
#define PLOT_W (CHART_W - MARGIN_L - MARGIN_R)
#define PANE_H 84
#define PANE_GAP 26
#define MARGIN_T 16
#define STRIP_HEALTH_H 8
#define STRIP_FIRED_H 18
#define STRIP_GAP 10
#define AXIS_H 18

/* Bounds that keep the page small however much a scenario recorded; the
 * results file keeps everything. */
#define MAX_TAIL_BYTES 16384
#define MAX_ROWS 200
#define MAX_JOURNAL_ROWS 50
#define MAX_LOG_LINES 1000

/* The figures charted; files only for a target with target.watch. */
enum { FIG_FDS, FIG_THREADS, FIG_RSS, FIG_FILES, NFIG };
static const char *const fig_key[NFIG] = {"fds", "threads", "rss", "files"};
static const char *const fig_title[NFIG] = {"open fds", "threads", "RSS",
					    "watched files"};

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static long long integer(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_real(v))
		return llround(json_real_value(v));
	return 0;
}

static void esc(fl_buf *b, const char *s)
{
	fl_escape_xml(b, s);
}

static void fmt_seconds(char *out, size_t len, double s)
{
	fl_fmt_duration(out, len, (int64_t)llround(s * 1e9));
}

/* ------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4), for the policy's hashes of the inline script and
 * style: a page that names what may run needs no 'unsafe-inline'. */

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^
			      (w[i - 15] >> 3);
		uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^
			      (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5],
		 g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
			      ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
		uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) +
			      ((a & b) ^ (a & c) ^ (b & c));
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

static void sha256(const void *data, size_t len, unsigned char out[32])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	const unsigned char *p = data;
	size_t left = len;
	while (left >= 64) {
		sha256_block(h, p);
		p += 64;
		left -= 64;
	}
	/* The last partial block, the 0x80 marker and the length in bits
	 * (big-endian), over one or two blocks. */
	unsigned char tail[128];
	memset(tail, 0, sizeof tail);
	memcpy(tail, p, left);
	tail[left] = 0x80;
	size_t blocks = left + 1 + 8 <= 64 ? 1 : 2;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[blocks * 64 - 1 - i] = (unsigned char)(bits >> (8 * i));
	for (size_t i = 0; i < blocks; i++)
		sha256_block(h, tail + 64 * i);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(h[i] >> 8);
		out[4 * i + 3] = (unsigned char)h[i];
	}
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
	sha256(text, strlen(text), h);
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

static const char css[] =
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
	"border:0;font-size:13px}"
	".v-PASS{background:#2e7d32}.v-FAIL{background:#c62828}"
	".v-ERROR{background:#6a1b9a}.v-XFAIL{background:#5d7a8c}"
	".v-XPASS{background:#e65100}.v-FLAKY{background:#9a7000}"
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
	"fill-opacity:.13}.base{stroke:#2e7d32;stroke-dasharray:5 3}"
	".rec{stroke:#1565c0;stroke-width:1.5;stroke-dasharray:3 2}"
	".miss{stroke:#c62828;stroke-width:1.5;stroke-dasharray:2 2}"
	".oom{stroke:#b71c1c;stroke-width:2}"
	".cursor{stroke:#1d2330;stroke-opacity:.5}"
	".line{fill:none;stroke-width:1.4;stroke-linejoin:round}"
	".l-fds{stroke:#d84315}.l-threads{stroke:#6a1b9a}.l-rss{stroke:#1565c0}"
	".l-files{stroke:#00796b}"
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
	".muted{color:#6b7385}a.up{font-size:12px;font-weight:400;"
	"margin-left:8px}";

/* Sorting and filtering of the table, and the values under the mouse on
 * the charts. It reads only data embedded in this file, and marks the
 * document once it has run to the end (the browser test looks for it). */
static const char script[] =
	"(function(){'use strict';var D=document;"
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
	"F=un(d.fds,2),T=un(d.thr,2),R=un(d.rss,2),L=un(d.fil,2),HP=un(d.hp,1),"
	"HF=un(d.hf,1),J=un(d.jf,1);"
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
	"var s='t '+(i*d.tmax/n).toFixed(3)+' to '+((i+1)*d.tmax/n).toFixed(3)+' s'"
	"+'\\nfds '+fig(F[i],String)+'\\nthreads '+fig(T[i],String)"
	"+'\\nRSS '+fig(R[i],function(v){return bytes(v*1024);});"
	"if(L)s+='\\nfiles '+fig(L[i],String);"
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

/* ------------------------------------------------------------------ */
/* Numbers in SVG: at most one decimal, none when it is zero. Coordinates
 * are most of a chart's bytes. */
static void put_coord(fl_buf *b, double v)
{
	long long t = llround(v * 10);
	if (t < 0) {
		fl_buf_putc(b, '-');
		t = -t;
	}
	if (t % 10)
		fl_buf_printf(b, "%lld.%lld", t / 10, t % 10);
	else
		fl_buf_printf(b, "%lld", t / 10);
}

/* Writes a polyline as path commands, merging horizontal runs and using
 * V for vertical steps. */
struct pathw {
	fl_buf *b;
	int started, pending;
	long long lx, ly, px;	/* in tenths */
};

static void path_cmd(struct pathw *p, char cmd, long long v)
{
	fl_buf_putc(p->b, cmd);
	put_coord(p->b, (double)v / 10);
}

static void path_to(struct pathw *p, double xf, double yf)
{
	long long x = llround(xf * 10), y = llround(yf * 10);
	if (!p->started) {
		path_cmd(p, 'M', x);
		fl_buf_putc(p->b, ' ');
		put_coord(p->b, (double)y / 10);
		p->lx = x;
		p->ly = y;
		p->started = 1;
		return;
	}
	if (y == p->ly) {
		p->pending = 1;
		p->px = x;
		return;
	}
	if (p->pending) {
		path_cmd(p, 'H', p->px);
		p->lx = p->px;
		p->pending = 0;
	}
	if (x == p->lx) {
		path_cmd(p, 'V', y);
	} else {
		path_cmd(p, 'L', x);
		fl_buf_putc(p->b, ' ');
		put_coord(p->b, (double)y / 10);
	}
	p->lx = x;
	p->ly = y;
}

static void path_end(struct pathw *p)
{
	if (p->pending)
		path_cmd(p, 'H', p->px);
	p->pending = 0;
}

/* ------------------------------------------------------------------ */
/* Axes. */

/* A step of 1, 2 or 5 times a power of ten giving about `want` ticks. */
static double nice_step(double range, int want)
{
	if (!(range > 0))
		return 1;
	double raw = range / want;
	double p = pow(10, floor(log10(raw)));
	double m = raw / p;
	double f = m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10;
	return f * p > 0 ? f * p : 1;
}

/* Formats v with as many decimals as the step needs. */
static void fmt_tick(char *out, size_t len, double v, double step)
{
	int dec = 0;
	while (dec < 6 && fabs(step * pow(10, dec) - llround(step * pow(10, dec))) > 1e-6)
		dec++;
	snprintf(out, len, "%.*f", dec, v);
}

/* Units for an RSS axis. */
static double byte_unit(double hi, const char **name)
{
	if (hi >= 1024.0 * 1024 * 1024) {
		*name = "GiB";
		return 1024.0 * 1024 * 1024;
	}
	if (hi >= 1024.0 * 1024) {
		*name = "MiB";
		return 1024.0 * 1024;
	}
	if (hi >= 1024) {
		*name = "KiB";
		return 1024;
	}
	*name = "B";
	return 1;
}

/* ------------------------------------------------------------------ */
/* The samples of one run of the target, gathered per pixel column. */

struct column {
	int n;
	double mn[NFIG], mx[NFIG];
	size_t imn[NFIG], imx[NFIG];
	int probes, failed;	/* health probes in this column */
	int fired;		/* journal records in this column */
};

struct plot {
	size_t n;
	double *t, *v[NFIG];
	double tmax;
	int nfig;		/* 3, or 4 with watched files */
	struct column col[PLOT_W];
	int have_health, have_journal;
	double lo[NFIG], hi[NFIG];
};

static int col_of(const struct plot *p, double t)
{
	int c = (int)floor(t / p->tmax * PLOT_W);
	if (c < 0)
		c = 0;
	if (c >= PLOT_W)
		c = PLOT_W - 1;
	return c;
}

static double xpos(const struct plot *p, double t)
{
	if (t < 0)
		t = 0;
	if (t > p->tmax)
		t = p->tmax;
	return MARGIN_L + t / p->tmax * PLOT_W;
}

static struct plot *plot_load(json_t *sc, json_t *target, int single_target)
{
	json_t *js = json_object_get(target, "series");
	if (!json_is_object(js))
		return NULL;
	struct plot *p = fl_xcalloc(1, sizeof *p);
	json_t *t = json_object_get(js, "t");
	p->n = json_array_size(t);
	p->t = fl_xmalloc((p->n + 1) * sizeof *p->t);
	for (int k = 0; k < NFIG; k++)
		p->v[k] = fl_xmalloc((p->n + 1) * sizeof *p->v[k]);
	json_t *arr[NFIG];
	for (int k = 0; k < NFIG; k++)
		arr[k] = json_object_get(js, fig_key[k]);
	p->nfig = json_array_size(arr[FIG_FILES]) == p->n && p->n ? NFIG : FIG_FILES;
	for (size_t i = 0; i < p->n; i++) {
		p->t[i] = json_number_value(json_array_get(t, i));
		for (int k = 0; k < NFIG; k++)
			p->v[k][i] = json_number_value(json_array_get(arr[k], i));
	}
	p->tmax = p->n ? p->t[p->n - 1] : 0;
	double ext = num(json_object_get(target, "exit"), "t");
	if (ext > p->tmax)
		p->tmax = ext;
	if (!(p->tmax > 0))
		p->tmax = 1;
	for (size_t i = 0; i < p->n; i++) {
		struct column *c = &p->col[col_of(p, p->t[i])];
		for (int k = 0; k < p->nfig; k++) {
			double v = p->v[k][i];
			if (!c->n || v < c->mn[k]) {
				c->mn[k] = v;
				c->imn[k] = i;
			}
			if (!c->n || v > c->mx[k]) {
				c->mx[k] = v;
				c->imx[k] = i;
			}
		}
		c->n++;
	}
	/* Health probes and fired faults share the clock of the target's
	 * run; with several runs (t:restart) they are not split per run, so
	 * they are drawn only when there is one. */
	if (single_target) {
		json_t *h = json_object_get(sc, "health");
		json_t *ht = json_object_get(h, "t"), *ok = json_object_get(h, "ok");
		size_t i;
		json_t *v;
		json_array_foreach(ht, i, v)
		{
			struct column *c = &p->col[col_of(p, json_number_value(v))];
			c->probes++;
			if (!json_is_true(json_array_get(ok, i)))
				c->failed++;
			p->have_health = 1;
		}
		json_t *recs = json_object_get(json_object_get(sc, "journal"),
					       "records");
		json_array_foreach(recs, i, v)
		{
			double at = num(v, "t");
			if (isnan(at))
				continue;
			p->col[col_of(p, at)].fired++;
			p->have_journal = 1;
		}
	}
	return p;
}

static void plot_free(struct plot *p)
{
	if (!p)
		return;
	free(p->t);
	for (int k = 0; k < NFIG; k++)
		free(p->v[k]);
	free(p);
}

/* The tolerance band of figure k around the baseline, as the scenario's
 * steady-state hypothesis writes it ("+2", "±10%", "+8MiB", "-1"). */
static int tolerance_band(json_t *sc, int k, double base, double *lo, double *hi)
{
	const char *tol = json_string_value(
		json_object_get(json_object_get(sc, "steady"), fig_key[k]));
	if (!tol || isnan(base))
		return -1;
	const char *p = tol;
	int up = 1, down = 0;
	if (!strncmp(p, "\xC2\xB1", 2)) {
		down = 1;
		p += 2;
	} else if (!strncmp(p, "+-", 2)) {
		down = 1;
		p += 2;
	} else if (*p == '+') {
		p++;
	} else if (*p == '-') {
		up = 0;
		down = 1;
		p++;
	}
	double v;
	char unit[16] = "";
	if (sscanf(p, "%lf%15s", &v, unit) < 1)
		return -1;
	double amount = v;
	if (unit[0] == '%') {
		amount = base * v / 100.0;
	} else if (k == FIG_RSS && unit[0]) {
		char full[48];
		snprintf(full, sizeof full, "%g%s", v, unit);
		if (fl_parse_bytes(full, &amount) < 0)
			return -1;
	}
	*hi = up ? base + amount : base;
	*lo = down ? base - amount : base;
	return 0;
}

/* One pane: figure k with its axis, band, baseline and line. */
static void pane(fl_buf *b, const struct plot *p, json_t *sc, int k, int top)
{
	double y0 = top, y1 = top + PANE_H;
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < p->n; i++) {
		if (p->v[k][i] < lo)
			lo = p->v[k][i];
		if (p->v[k][i] > hi)
			hi = p->v[k][i];
	}
	json_t *base = json_object_get(sc, "baseline");
	double bval = json_is_object(base) ? num(base, fig_key[k]) : NAN;
	double bfrom = json_is_object(base) ? num(base, "from") : NAN;
	if (isnan(bfrom))
		bfrom = 0;
	double band_lo = NAN, band_hi = NAN;
	tolerance_band(sc, k, bval, &band_lo, &band_hi);
	if (!isnan(bval)) {
		lo = fmin(lo, bval);
		hi = fmax(hi, bval);
	}
	/* Show the band's edge when it is near the data; a generous
	 * tolerance far above would flatten the line. */
	if (!isnan(band_hi) && band_hi > hi && band_hi - hi <= (hi - lo) + 2)
		hi = band_hi;
	if (!isnan(band_lo) && band_lo < lo && lo - band_lo <= (hi - lo) + 2)
		lo = band_lo;
	if (!isfinite(lo)) {
		lo = 0;
		hi = 1;
	}
	double unit = 1;
	const char *uname = "";
	if (k == FIG_RSS)
		unit = byte_unit(hi, &uname);
	if (hi - lo < 1e-9)
		hi = lo + (k == FIG_RSS ? unit : 2);
	double step = nice_step((hi - lo) / unit, 3) * unit;
	if (k != FIG_RSS && step < 1)
		step = 1;
	double alo = floor(lo / step) * step, ahi = ceil(hi / step) * step;
	if (ahi - alo < step)
		ahi = alo + step;
	if (alo < 0 && lo >= 0)
		alo = 0;
#define Y(v) (y1 - ((v)-alo) / (ahi - alo) * PANE_H)
	fl_buf_printf(b, "<text class=\"pt\" x=\"%d\" y=\"%.0f\">%s</text>",
		      MARGIN_L, y0 - 5, fig_title[k]);
	fl_buf_printf(b, "<rect class=\"pane\" x=\"%d\" y=\"%.0f\" width=\"%d\" "
			 "height=\"%d\"/>",
		      MARGIN_L, y0, PLOT_W, PANE_H);
	if (!isnan(band_lo) && !isnan(band_hi)) {
		double bt = Y(fmin(band_hi, ahi)), bb = Y(fmax(band_lo, alo));
		double bx = xpos(p, bfrom);
		if (bb > bt) {
			fl_buf_printf(b,
				      "<rect class=\"band\" x=\"%.1f\" y=\"%.1f\" "
				      "width=\"%.1f\" height=\"%.1f\"><title>"
				      "steady state: baseline ",
				      bx, bt, MARGIN_L + PLOT_W - bx, bb - bt);
			esc(b, json_string_value(json_object_get(
				       json_object_get(sc, "steady"), fig_key[k])));
			fl_buf_puts(b, "</title></rect>");
		}
	}
	/* The grid, one path for the pane: value ticks across, time ticks
	 * down (the labels of the time axis are under the last pane). */
	fl_buf_puts(b, "<path class=\"grid\" d=\"");
	/* Loops over ticks stop at 20: a step lost in the rounding of a huge
	 * value must not spin. */
	int q = 0;
	for (double v = alo; v <= ahi + step / 2 && q < 20; v += step, q++) {
		fl_buf_printf(b, "M%d ", MARGIN_L);
		put_coord(b, Y(v));
		fl_buf_printf(b, "h%d", PLOT_W);
	}
	double tstep = nice_step(p->tmax, 8);
	q = 0;
	for (double t = tstep; t < p->tmax * (1 - 1e-9) && q < 20; t += tstep, q++) {
		fl_buf_putc(b, 'M');
		put_coord(b, xpos(p, t));
		fl_buf_printf(b, " %.0fv%d", y0, PANE_H);
	}
	fl_buf_puts(b, "\"/>");
	q = 0;
	for (double v = alo; v <= ahi + step / 2 && q < 20; v += step, q++) {
		char lab[48];
		fmt_tick(lab, sizeof lab, v / unit, step / unit);
		fl_buf_printf(b,
			      "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s%s%s"
			      "</text>",
			      MARGIN_L - 4, Y(v) + 4, lab, uname[0] ? " " : "", uname);
	}
	if (!isnan(bval)) {
		double y = Y(bval);
		char lab[48];
		if (k == FIG_RSS)
			fl_fmt_bytes(lab, sizeof lab, bval);
		else
			snprintf(lab, sizeof lab, "%g", bval);
		fl_buf_printf(b,
			      "<line class=\"base\" x1=\"%.1f\" x2=\"%d\" y1=\"%.1f\" "
			      "y2=\"%.1f\"><title>baseline %s</title></line>",
			      xpos(p, bfrom), MARGIN_L + PLOT_W, y, y, lab);
	}
	/* The line, one pixel column at a time: a column with several
	 * samples is a vertical stroke from the first of its extremes to
	 * the other, in time order, so spikes survive and the shape stays. */
	fl_buf_printf(b, "<path class=\"line l-%s\" d=\"", fig_key[k]);
	struct pathw pw = {.b = b};
	for (int c = 0; c < PLOT_W; c++) {
		const struct column *col = &p->col[c];
		if (!col->n)
			continue;
		double x = MARGIN_L + c + 0.5;
		double first = col->imn[k] <= col->imx[k] ? col->mn[k] : col->mx[k];
		double second = col->imn[k] <= col->imx[k] ? col->mx[k] : col->mn[k];
		path_to(&pw, x, Y(first));
		if (second != first)
			path_to(&pw, x, Y(second));
	}
	path_end(&pw);
	fl_buf_puts(b, "\"/>");
#undef Y
}

/* Fault windows of one chart, merged where they touch at this scale (a
 * scenario with hundreds of short episodes would otherwise draw a rect
 * per window per pixel). */
static void windows(fl_buf *b, const struct plot *p, json_t *sc, int top,
		    int height)
{
	json_t *faults = json_object_get(sc, "faults");
	size_t n = json_array_size(faults);
	if (!n)
		return;
	double *on = fl_xmalloc(n * sizeof *on), *off = fl_xmalloc(n * sizeof *off);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *w = json_array_get(faults, i);
		double a = num(w, "on"), z = num(w, "off");
		if (isnan(a))
			continue;
		if (isnan(z) || z > p->tmax)
			z = p->tmax;
		if (a > p->tmax)
			continue;
		/* Insertion by start time; windows arrive nearly sorted. */
		size_t j = m;
		while (j > 0 && on[j - 1] > a) {
			on[j] = on[j - 1];
			off[j] = off[j - 1];
			j--;
		}
		on[j] = a;
		off[j] = z;
		m++;
	}
	double px_s = p->tmax / PLOT_W;
	for (size_t i = 0; i < m;) {
		double a = on[i], z = off[i];
		size_t j = i + 1;
		while (j < m && on[j] <= z + px_s) {
			z = fmax(z, off[j]);
			j++;
		}
		double xa = xpos(p, a), xz = xpos(p, z);
		fl_buf_printf(b,
			      "<rect class=\"win\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
			      "height=\"%d\"><title>",
			      xa, top, xz - xa < 1 ? 1 : xz - xa, height);
		if (j - i == 1) {
			json_t *w = NULL;
			size_t q;
			json_t *f;
			json_array_foreach(faults, q, f)
				if (num(f, "on") == a)
					w = f;
			esc(b, str(w, "point"));
			fl_buf_printf(b, " from %.3f s to %.3f s", a, z);
		} else {
			fl_buf_printf(b, "%zu fault windows from %.3f s to %.3f s",
				      j - i, a, z);
		}
		fl_buf_puts(b, "</title></rect>");
		i = j;
	}
	free(on);
	free(off);
}

static void vmarker(fl_buf *b, const char *cls, double x, int top, int height,
		    const char *title)
{
	fl_buf_printf(b,
		      "<line class=\"%s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" "
		      "y2=\"%d\"><title>",
		      cls, x, x, top, top + height);
	esc(b, title);
	fl_buf_puts(b, "</title></line>");
}

/* Appends a run-length list: [count, v1.., count, v1.., ...] where each
 * group is `width` numbers (or nulls) that hold for `count` columns. */
struct rle {
	fl_buf *b;
	int width, count, started;
	double last[2];
	int last_null;
};

static void rle_put(fl_buf *b, double v, int is_null)
{
	if (is_null)
		fl_buf_puts(b, "null");
	else
		fl_buf_printf(b, "%.10g", v);
}

static void rle_flush(struct rle *r)
{
	if (!r->count)
		return;
	fl_buf_printf(r->b, "%s%d", r->started ? "," : "", r->count);
	for (int w = 0; w < r->width; w++) {
		fl_buf_putc(r->b, ',');
		rle_put(r->b, r->last[w], r->last_null);
	}
	r->started = 1;
	r->count = 0;
}

static void rle_add(struct rle *r, const double *v, int is_null)
{
	int same = r->count && is_null == r->last_null;
	for (int w = 0; same && !is_null && w < r->width; w++)
		same = v[w] == r->last[w];
	if (!same) {
		rle_flush(r);
		for (int w = 0; w < r->width; w++)
			r->last[w] = is_null ? 0 : v[w];
		r->last_null = is_null;
	}
	r->count++;
}

/* The figures under the mouse, per pixel column: each figure's minimum
 * and the spread to its maximum (RSS in KiB). A column without a sample
 * holds the figures of the one before (they are step functions), and the
 * columns are run-length coded: a flat minute is one entry. Numbers only,
 * so the block cannot contain markup. */
static void hover_data(fl_buf *b, const struct plot *p, const char *id)
{
	fl_buf_printf(b,
		      "<script type=\"application/json\" id=\"%s\">{\"x0\":%d,"
		      "\"n\":%d,\"tmax\":%.6f",
		      id, MARGIN_L, PLOT_W, p->tmax);
	int first = PLOT_W, last = -1;
	for (int c = 0; c < PLOT_W; c++)
		if (p->col[c].n) {
			if (c < first)
				first = c;
			last = c;
		}
	static const char *const names[NFIG] = {"fds", "thr", "rss", "fil"};
	for (int k = 0; k < p->nfig; k++) {
		double div = k == FIG_RSS ? 1024 : 1;
		struct rle r = {.b = b, .width = 2};
		fl_buf_printf(b, ",\"%s\":[", names[k]);
		double held[2] = {0, 0};
		for (int c = 0; c < PLOT_W; c++) {
			const struct column *col = &p->col[c];
			if (col->n) {
				held[0] = col->mn[k] / div;
				held[1] = (col->mx[k] - col->mn[k]) / div;
			}
			rle_add(&r, held, c < first || c > last);
		}
		rle_flush(&r);
		fl_buf_putc(b, ']');
	}
	for (int q = 0; q < 3; q++) {
		static const char *const counts[3] = {"hp", "hf", "jf"};
		if (q < 2 ? !p->have_health : !p->have_journal)
			continue;
		struct rle r = {.b = b, .width = 1};
		fl_buf_printf(b, ",\"%s\":[", counts[q]);
		for (int c = 0; c < PLOT_W; c++) {
			double v = q == 0   ? p->col[c].probes
				   : q == 1 ? p->col[c].failed
					    : p->col[c].fired;
			rle_add(&r, &v, 0);
		}
		rle_flush(&r);
		fl_buf_putc(b, ']');
	}
	fl_buf_puts(b, "}</script>");
}

static void chart(fl_buf *b, json_t *sc, json_t *target, int idx, int tidx,
		  int single_target)
{
	struct plot *p = plot_load(sc, target, single_target);
	if (!p)
		return;
	int panes_bottom = MARGIN_T + p->nfig * PANE_H + (p->nfig - 1) * PANE_GAP;
	int y = panes_bottom;
	int health_top = -1, fired_top = -1;
	if (p->have_health) {
		health_top = y + STRIP_GAP;
		y = health_top + STRIP_HEALTH_H;
	}
	if (p->have_journal) {
		fired_top = y + STRIP_GAP;
		y = fired_top + STRIP_FIRED_H;
	}
	int height = y + AXIS_H;
	char id[64];
	snprintf(id, sizeof id, "d%d-%d", idx, tidx);
	fl_buf_printf(b, "<div class=\"chart\" data-src=\"%s\">", id);
	fl_buf_printf(b,
		      "<svg viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\" "
		      "aria-label=\"open fds, threads and RSS over time\">",
		      CHART_W, height);
	for (int k = 0; k < p->nfig; k++)
		pane(b, p, sc, k, MARGIN_T + k * (PANE_H + PANE_GAP));
	/* Fault windows and markers span every pane: one time axis. */
	windows(b, p, sc, MARGIN_T, panes_bottom - MARGIN_T);
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(sc, "episodes"), i, e)
	{
		double at = num(e, "recovered_at");
		char title[160];
		if (!isnan(at)) {
			char d[32];
			fmt_seconds(d, sizeof d, num(e, "recovery_s"));
			snprintf(title, sizeof title, "recovered at %.3f s, %s after "
				 "the fault window", at, d);
			vmarker(b, "rec", xpos(p, at), MARGIN_T,
				panes_bottom - MARGIN_T, title);
		} else if (!strcmp(str(e, "state"), "not recovered") &&
			   !isnan(num(e, "off")) && !isnan(num(e, "within_s"))) {
			double dl = num(e, "off") + num(e, "within_s");
			if (dl <= p->tmax) {
				snprintf(title, sizeof title,
					 "not recovered by %.3f s (within %.2f s "
					 "of the window's end)",
					 dl, num(e, "within_s"));
				vmarker(b, "miss", xpos(p, dl), MARGIN_T,
					panes_bottom - MARGIN_T, title);
			}
		}
	}
	json_t *oom = json_object_get(sc, "oom_precursor");
	if (json_is_object(oom) && !isnan(num(oom, "t")) && single_target) {
		char rb[32], title[96];
		fl_fmt_bytes(rb, sizeof rb, num(oom, "rss"));
		snprintf(title, sizeof title,
			 "OOM precursor snapshot at %.3f s (RSS %s)", num(oom, "t"), rb);
		vmarker(b, "oom", xpos(p, num(oom, "t")), MARGIN_T,
			panes_bottom - MARGIN_T, title);
	}
	/* Time axis labels (the panes draw its grid). */
	double tstep = nice_step(p->tmax, 8);
	for (int q = 0; q <= 20 && q * tstep <= p->tmax * (1 + 1e-9); q++) {
		double t = q * tstep;
		double x = xpos(p, t);
		char lab[32];
		fmt_tick(lab, sizeof lab, t, tstep);
		fl_buf_printf(b,
			      "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">"
			      "%s s</text>",
			      x, height - 4, lab);
	}
	if (p->have_health) {
		fl_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">"
				 "health</text>",
			      MARGIN_L - 4, health_top + STRIP_HEALTH_H);
		/* Runs of columns in the same state, one rect each. */
		for (int c = 0; c < PLOT_W;) {
			int state = p->col[c].failed ? 2 : p->col[c].probes ? 1 : 0;
			int d = c + 1;
			while (d < PLOT_W) {
				int s2 = p->col[d].failed ? 2 : p->col[d].probes ? 1 : 0;
				/* Columns without probes continue the run. */
				if (s2 && s2 != state && state)
					break;
				if (!state)
					state = s2;
				d++;
			}
			if (state)
				fl_buf_printf(b,
					      "<rect class=\"%s\" x=\"%d\" y=\"%d\" "
					      "width=\"%d\" height=\"%d\"/>",
					      state == 2 ? "h-bad" : "h-ok",
					      MARGIN_L + c, health_top, d - c,
					      STRIP_HEALTH_H);
			c = d;
		}
	}
	if (p->have_journal) {
		int mx = 1;
		for (int c = 0; c < PLOT_W; c++)
			if (p->col[c].fired > mx)
				mx = p->col[c].fired;
		fl_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">"
				 "fired</text><path class=\"fired\" d=\"",
			      MARGIN_L - 4, fired_top + STRIP_FIRED_H);
		for (int c = 0; c < PLOT_W; c++) {
			if (!p->col[c].fired)
				continue;
			double h = 2 + (STRIP_FIRED_H - 2) *
					       (double)p->col[c].fired / mx;
			fl_buf_printf(b, "M%d.5 %dv", MARGIN_L + c,
				      fired_top + STRIP_FIRED_H);
			put_coord(b, -h);
		}
		fl_buf_printf(b, "\"><title>faults fired per pixel column (at "
				 "most %d)</title></path>",
			      mx);
	}
	fl_buf_printf(b,
		      "<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"%d\" y2=\"%d\" "
		      "visibility=\"hidden\"/>",
		      MARGIN_T, y);
	fl_buf_puts(b, "</svg><div class=\"tip\" hidden></div></div>");
	fl_buf_puts(b, "<div class=\"legend\"><span><i class=\"k-win\"></i>fault "
		       "window</span><span><i class=\"k-band\"></i>baseline and "
		       "tolerance</span><span><i class=\"k-rec\"></i>recovered"
		       "</span><span><i class=\"k-miss\"></i>recovery deadline "
		       "missed</span>");
	if (p->have_health)
		fl_buf_puts(b, "<span><i class=\"k-hbad\"></i>health probe "
			       "failed</span>");
	if (p->have_journal) {
		json_t *j = json_object_get(sc, "journal");
		fl_buf_puts(b, "<span><i class=\"k-fired\"></i>faults fired");
		if (json_is_true(json_object_get(j, "truncated")))
			fl_buf_printf(b, " (the first %zu of %lld)",
				      json_array_size(json_object_get(j, "records")),
				      integer(j, "total"));
		fl_buf_puts(b, "</span>");
	}
	if (json_is_object(oom))
		fl_buf_puts(b, "<span><i class=\"k-oom\"></i>OOM precursor"
			       "</span>");
	size_t per_col_max = 0;
	for (int c = 0; c < PLOT_W; c++)
		if ((size_t)p->col[c].n > per_col_max)
			per_col_max = (size_t)p->col[c].n;
	if (per_col_max > 2)
		fl_buf_printf(b, "<span class=\"muted\">%zu samples drawn as the "
				 "minimum and maximum of each pixel column"
				 "</span>",
			      p->n);
	fl_buf_puts(b, "</div>");
	hover_data(b, p, id);
	plot_free(p);
}

/* ------------------------------------------------------------------ */
/* The summary. */

static double fired_total(json_t *sc)
{
	json_t *j = json_object_get(sc, "journal");
	if (json_is_object(j) && json_is_number(json_object_get(j, "total")))
		return num(j, "total");
	double n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(sc, "points"), k, v)
		if (!isnan(num(v, "fired")))
			n += num(v, "fired");
	return n;
}

static int verdict_rank(const char *v)
{
	static const char *const order[] = {"ERROR", "FAIL", "XPASS", "FLAKY",
					    "XFAIL", "PASS"};
	for (int i = 0; i < 6; i++)
		if (!strcmp(v, order[i]))
			return i;
	return 6;
}

static int is_bad(const char *v)
{
	return !strcmp(v, "FAIL") || !strcmp(v, "ERROR") || !strcmp(v, "XPASS") ||
	       !strcmp(v, "FLAKY");
}

static void cell_num(fl_buf *b, double v, const char *text, int bad)
{
	if (isnan(v)) {
		fl_buf_puts(b, "<td class=\"n muted\" data-s=\"\">–</td>");
		return;
	}
	fl_buf_printf(b, "<td class=\"n%s\" data-s=\"%.9g\">%s</td>",
		      bad ? " bad" : "", v, text);
}

static void cell_seconds(fl_buf *b, double s)
{
	char txt[32];
	if (!isnan(s))
		fmt_seconds(txt, sizeof txt, s);
	cell_num(b, s, txt, 0);
}

static void cell_count(fl_buf *b, double v, int flag_positive)
{
	char txt[32];
	snprintf(txt, sizeof txt, "%g", v);
	cell_num(b, v, txt, flag_positive && v > 0);
}

static void scenario_table(fl_buf *b, json_t *doc)
{
	json_t *sc = json_object_get(doc, "scenarios");
	fl_buf_puts(b, "<section id=\"table\"><h2>Scenarios</h2><input id=\"filter\" "
		       "type=\"search\" placeholder=\"filter by name, verdict, "
		       "file, tag\" aria-label=\"filter the scenarios\">"
		       "<span id=\"shown\" class=\"muted\"></span>"
		       "<table id=\"sc\"><thead><tr>");
	/* Watched files get a column when a scenario watched some. */
	size_t i;
	json_t *s;
	int files = 0;
	json_array_foreach(sc, i, s)
		files |= json_is_number(json_object_get(json_object_get(s, "leaks"),
							"files"));
	static const char *const cols[] = {
		"Verdict",    "Scenario",   "MTTR mean",      "MTTR p95",
		"MTTR max",   "Leaked fds", "Leaked threads", "Leaked RSS",
		"Leaked files", "Faults fired", "Time"};
	for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
		if (files || strcmp(cols[k], "Leaked files"))
			fl_buf_printf(b, "<th class=\"sortable\" scope=\"col\">%s</th>",
				      cols[k]);
	fl_buf_puts(b, "</tr></thead><tbody>");
	json_array_foreach(sc, i, s)
	{
		const char *v = str(s, "verdict");
		fl_buf_puts(b, "<tr data-verdict=\"");
		esc(b, v);
		fl_buf_printf(b, "\"><td data-s=\"%d\"><span class=\"v v-", verdict_rank(v));
		esc(b, v);
		fl_buf_puts(b, "\">");
		esc(b, v);
		fl_buf_puts(b, "</span></td><td data-s=\"");
		esc(b, str(s, "name"));
		fl_buf_printf(b, "\"><a href=\"#s%zu\">", i);
		esc(b, str(s, "name"));
		fl_buf_puts(b, "</a><br><span class=\"muted\">");
		esc(b, str(s, "id"));
		size_t ti;
		json_t *tag;
		json_array_foreach(json_object_get(s, "tags"), ti, tag)
		{
			fl_buf_puts(b, ti ? ", " : " · ");
			esc(b, json_string_value(tag));
		}
		fl_buf_puts(b, "</span></td>");
		json_t *m = json_object_get(s, "mttr");
		int hm = json_is_object(m);
		cell_seconds(b, hm ? num(m, "mean_s") : NAN);
		cell_seconds(b, hm ? num(m, "p95_s") : NAN);
		cell_seconds(b, hm ? num(m, "max_s") : NAN);
		json_t *l = json_object_get(s, "leaks");
		int hl = json_is_object(l);
		cell_count(b, hl ? num(l, "fds") : NAN, 1);
		cell_count(b, hl ? num(l, "threads") : NAN, 1);
		char rb[32] = "";
		if (hl)
			fl_fmt_bytes(rb, sizeof rb, num(l, "rss"));
		cell_num(b, hl ? num(l, "rss") : NAN, rb, 0);
		if (files)
			cell_count(b, hl ? num(l, "files") : NAN, 1);
		cell_count(b, fired_total(s), 0);
		cell_seconds(b, num(s, "duration_s"));
		fl_buf_puts(b, "</tr>");
	}
	fl_buf_puts(b, "</tbody></table></section>");
}

/* What a reader must see first: the failures with their messages, and
 * what makes the results less trustworthy than they look. */
static void problems(fl_buf *b, json_t *doc)
{
	json_t *sc = json_object_get(doc, "scenarios");
	size_t i;
	json_t *s;
	int any = 0;
	json_array_foreach(sc, i, s)
	{
		const char *v = str(s, "verdict");
		if (!is_bad(v))
			continue;
		if (!any)
			fl_buf_puts(b, "<h2>Failures</h2><ul class=\"problems\">");
		any = 1;
		fl_buf_puts(b, "<li><span class=\"v v-");
		esc(b, v);
		fl_buf_puts(b, "\">");
		esc(b, v);
		fl_buf_printf(b, "</span> <a href=\"#s%zu\">", i);
		esc(b, str(s, "name"));
		fl_buf_puts(b, "</a>");
		const char *msg = str(s, "message");
		if (*msg) {
			size_t n = strcspn(msg, "\n");
			char *line = strndup(msg, n > 300 ? 300 : n);
			fl_buf_puts(b, ": ");
			esc(b, line ? line : "");
			free(line);
		}
		fl_buf_puts(b, "</li>");
	}
	if (any)
		fl_buf_puts(b, "</ul>");

	/* Warnings. */
	fl_buf warn;
	fl_buf_init(&warn);
	json_t *run = json_object_get(doc, "run");
	if (json_is_string(json_object_get(run, "interrupted"))) {
		fl_buf_puts(&warn, "<li>The run was interrupted (");
		esc(&warn, str(run, "interrupted"));
		fl_buf_puts(&warn, "): scenarios after it did not run.</li>");
	}
	int timebased = 0, lost = 0;
	json_array_foreach(sc, i, s)
	{
		const char *k;
		json_t *pt;
		json_object_foreach(json_object_get(s, "points"), k, pt)
		{
			if (num(pt, "fired") != 0)
				continue;
			fl_buf_puts(&warn, "<li>Point <code>");
			esc(&warn, k);
			fl_buf_printf(&warn, "</code> was enabled but never fired "
					     "in <a href=\"#s%zu\">",
				      i);
			esc(&warn, str(s, "name"));
			fl_buf_printf(&warn, "</a> (%.0f calls seen): a misspelt "
					     "name, or a path the target never "
					     "took.</li>",
				      num(pt, "calls"));
		}
		size_t wi;
		json_t *w;
		json_array_foreach(json_object_get(s, "warnings"), wi, w)
		{
			fl_buf_printf(&warn, "<li><a href=\"#s%zu\">", i);
			esc(&warn, str(s, "name"));
			fl_buf_puts(&warn, "</a>: ");
			esc(&warn, json_string_value(w));
			fl_buf_puts(&warn, "</li>");
		}
		if (json_is_true(json_object_get(s, "time_based_windows")))
			timebased++;
		if (integer(json_object_get(s, "journal"), "lost") > 0)
			lost++;
	}
	if (timebased)
		fl_buf_printf(&warn, "<li>%d scenario%s opened fault windows on "
				     "wall-clock time: which calls fail can "
				     "differ between runs.</li>",
			      timebased, timebased == 1 ? "" : "s");
	if (lost)
		fl_buf_printf(&warn, "<li>%d scenario%s lost fault journal "
				     "records (the target outran the journal): "
				     "their digests do not cover every fault."
				     "</li>",
			      lost, lost == 1 ? "" : "s");
	if (warn.len) {
		fl_buf_puts(b, "<div class=\"warn\"><b>Warnings</b><ul>");
		fl_buf_append(b, warn.data, warn.len);
		fl_buf_puts(b, "</ul></div>");
	}
	fl_buf_free(&warn);
}

static void run_facts(fl_buf *b, json_t *doc)
{
	json_t *run = json_object_get(doc, "run");
	fl_buf_puts(b, "<table class=\"facts\">");
	fl_buf_puts(b, "<tr><th>run</th><td>");
	esc(b, str(run, "id"));
	fl_buf_puts(b, "</td></tr><tr><th>started</th><td>");
	esc(b, str(run, "started"));
	fl_buf_printf(b, "</td></tr><tr><th>duration</th><td>%.2f s</td></tr>",
		      num(run, "duration_s"));
	fl_buf_puts(b, "<tr><th>seed</th><td>");
	json_t *seed = json_object_get(run, "seed");
	if (json_is_integer(seed))
		fl_buf_printf(b, "%lld (every scenario)",
			      (long long)json_integer_value(seed));
	else
		fl_buf_puts(b, "each scenario's own (below, with the command "
			       "that re-runs it)");
	fl_buf_puts(b, "</td></tr><tr><th>command</th><td><code>");
	esc(b, str(run, "command"));
	fl_buf_puts(b, "</code></td></tr><tr><th>faultline</th><td>");
	esc(b, str(doc, "faultline_version"));
	fl_buf_puts(b, "</td></tr>");
	json_t *host = json_object_get(run, "host");
	if (json_is_object(host)) {
		fl_buf_puts(b, "<tr><th>machine</th><td>");
		esc(b, str(host, "hostname"));
		fl_buf_puts(b, " · ");
		esc(b, str(host, "kernel"));
		fl_buf_printf(b, " · %lld CPUs · libfiu ", integer(host, "cpus"));
		esc(b, str(host, "libfiu"));
		fl_buf_puts(b, "</td></tr>");
	}
	json_t *shard = json_object_get(run, "shard");
	if (json_is_object(shard))
		fl_buf_printf(b, "<tr><th>shard</th><td>%lld/%lld</td></tr>",
			      integer(shard, "index"), integer(shard, "total"));
	json_t *from = json_object_get(run, "merged_from");
	if (json_array_size(from)) {
		fl_buf_printf(b, "<tr><th>merged from</th><td>%zu results files:"
				 "<ul>",
			      json_array_size(from));
		size_t i;
		json_t *f;
		json_array_foreach(from, i, f)
		{
			fl_buf_puts(b, "<li>");
			json_t *sh = json_object_get(f, "shard");
			if (json_is_object(sh))
				fl_buf_printf(b, "shard %lld/%lld: ",
					      integer(sh, "index"),
					      integer(sh, "total"));
			esc(b, str(f, "id"));
			fl_buf_printf(b, ", %lld scenarios, %.1f s on ",
				      integer(f, "scenarios"), num(f, "duration_s"));
			esc(b, str(json_object_get(f, "host"), "hostname"));
			fl_buf_puts(b, " <span class=\"muted\">");
			esc(b, str(f, "file"));
			fl_buf_puts(b, "</span></li>");
		}
		fl_buf_puts(b, "</ul></td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void header(fl_buf *b, json_t *doc)
{
	json_t *sum = json_object_get(doc, "summary");
	long long status = integer(sum, "exit_status");
	fl_buf_puts(b, "<header id=\"top\"><h1>faultline resilience report</h1>");
	static const char *const meaning[] = {
		"every scenario passed or failed as expected",
		"a scenario failed, passed unexpectedly (XPASS) or was flaky",
		"a scenario could not load or ended in ERROR"};
	fl_buf_printf(b, "<div class=\"gate gate-%s\">Gate: %s</div> "
			 "<span>exit status %lld: %s</span>",
		      status ? "fail" : "pass", status ? "FAIL" : "PASS", status,
		      status >= 0 && status <= 2 ? meaning[status] : "internal error");
	fl_buf_puts(b, "<p>");
	static const char *const verdicts[][3] = {
		{"passed", "PASS", "passed"},	 {"failed", "FAIL", "failed"},
		{"errors", "ERROR", "errors"},	 {"xfailed", "XFAIL", "xfailed"},
		{"xpassed", "XPASS", "xpassed"}, {"flaky", "FLAKY", "flaky"}};
	for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++) {
		long long n = integer(sum, verdicts[i][0]);
		fl_buf_printf(b,
			      "<button type=\"button\" class=\"v v-%s%s\" "
			      "data-verdict=\"%s\" aria-pressed=\"false\" "
			      "title=\"show only %s scenarios (click again to "
			      "undo)\">%lld %s</button>",
			      verdicts[i][1], n ? "" : " zero", verdicts[i][1],
			      verdicts[i][1], n, verdicts[i][2]);
	}
	fl_buf_printf(b, " <span class=\"muted\">of %lld scenarios", integer(sum, "total"));
	if (integer(sum, "load_errors"))
		fl_buf_printf(b, ", %lld could not load", integer(sum, "load_errors"));
	fl_buf_puts(b, "</span></p>");
	run_facts(b, doc);
	problems(b, doc);
	fl_buf_puts(b, "</header>");
}

/* ------------------------------------------------------------------ */
/* A scenario's sections. */

static void expectations(fl_buf *b, json_t *s)
{
	json_t *ex = json_object_get(s, "expectations");
	if (!json_array_size(ex))
		return;
	fl_buf_puts(b, "<h3>Expectations</h3><table><tr><th></th><th>What</th>"
		       "<th>Measured</th><th>Allowed</th><th>Message</th>"
		       "<th>Where</th></tr>");
	size_t i;
	json_t *e;
	json_array_foreach(ex, i, e)
	{
		int ok = json_is_true(json_object_get(e, "ok"));
		fl_buf_printf(b, "<tr><td class=\"%s\">%s</td><td>",
			      ok ? "ok" : "bad", ok ? "✓" : "✗");
		esc(b, str(e, "what"));
		fl_buf_printf(b, "</td><td class=\"%s\">", ok ? "" : "bad");
		esc(b, str(e, "measured"));
		fl_buf_puts(b, "</td><td>");
		esc(b, str(e, "allowed"));
		fl_buf_puts(b, "</td><td>");
		esc(b, str(e, "message"));
		fl_buf_puts(b, "</td><td><code>");
		esc(b, str(e, "where"));
		fl_buf_puts(b, "</code></td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void episodes(fl_buf *b, json_t *s)
{
	json_t *eps = json_object_get(s, "episodes");
	size_t n = json_array_size(eps);
	if (!n)
		return;
	json_t *m = json_object_get(s, "mttr");
	fl_buf_puts(b, "<h3>Fault windows and recovery</h3>");
	if (json_is_object(m)) {
		char a[32], p50[32], p95[32], mx[32];
		fmt_seconds(a, sizeof a, num(m, "mean_s"));
		fmt_seconds(p50, sizeof p50, num(m, "p50_s"));
		fmt_seconds(p95, sizeof p95, num(m, "p95_s"));
		fmt_seconds(mx, sizeof mx, num(m, "max_s"));
		fl_buf_printf(b, "<p>MTTR over %lld recovered episode%s: mean %s, "
				 "p50 %s, p95 %s, max %s</p>",
			      integer(m, "n"), integer(m, "n") == 1 ? "" : "s", a,
			      p50, p95, mx);
	}
	fl_buf_puts(b, "<table><tr><th>Points</th><th>On</th><th>Off</th>"
		       "<th>Recovery</th><th>Bound</th><th>Why not</th></tr>");
	size_t i;
	json_t *e;
	json_array_foreach(eps, i, e)
	{
		if (i == MAX_ROWS) {
			fl_buf_printf(b, "<tr><td colspan=\"6\" class=\"muted\">"
					 "%zu more episodes in results.json"
					 "</td></tr>",
				      n - MAX_ROWS);
			break;
		}
		fl_buf_puts(b, "<tr><td><code>");
		esc(b, str(e, "points"));
		fl_buf_printf(b, "</code></td><td class=\"n\">%.3f s</td>", num(e, "on"));
		if (isnan(num(e, "off")))
			fl_buf_puts(b, "<td>open</td>");
		else
			fl_buf_printf(b, "<td class=\"n\">%.3f s</td>", num(e, "off"));
		if (!isnan(num(e, "recovery_s"))) {
			char d[32];
			fmt_seconds(d, sizeof d, num(e, "recovery_s"));
			fl_buf_printf(b, "<td class=\"n ok\">%s</td>", d);
		} else {
			fl_buf_printf(b, "<td class=\"%s\">",
				      strcmp(str(e, "state"), "not recovered") ? ""
										: "bad");
			esc(b, str(e, "state"));
			fl_buf_puts(b, "</td>");
		}
		if (!isnan(num(e, "within_s")))
			fl_buf_printf(b, "<td class=\"n\">%.2f s</td>", num(e, "within_s"));
		else
			fl_buf_puts(b, "<td>–</td>");
		fl_buf_puts(b, "<td>");
		esc(b, str(e, "why"));
		fl_buf_puts(b, "</td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void groups_table(fl_buf *b, json_t *groups, const char *what)
{
	fl_buf_printf(b, "<table><tr><th>Count</th><th>%s</th></tr>", what);
	size_t i;
	json_t *e;
	json_array_foreach(groups, i, e)
	{
		if (i == MAX_ROWS)
			break;
		fl_buf_printf(b, "<tr><td class=\"n\">%lld</td><td><code>",
			      integer(e, "count"));
		esc(b, str(e, "pattern"));
		fl_buf_puts(b, "</code></td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void thread_rows(fl_buf *b, json_t *threads)
{
	fl_buf_puts(b, "<table><tr><th>tid</th><th>name</th><th>state</th>"
		       "<th>wchan</th><th>syscall</th></tr>");
	size_t i;
	json_t *e;
	json_array_foreach(threads, i, e)
	{
		if (i == MAX_ROWS) {
			fl_buf_printf(b, "<tr><td colspan=\"5\" class=\"muted\">"
					 "%zu more in results.json</td></tr>",
				      json_array_size(threads) - MAX_ROWS);
			break;
		}
		if (json_is_string(e)) {
			fl_buf_puts(b, "<tr><td colspan=\"5\">");
			esc(b, json_string_value(e));
			fl_buf_puts(b, "</td></tr>");
			continue;
		}
		fl_buf_printf(b, "<tr><td class=\"n\">%lld</td><td>", integer(e, "tid"));
		esc(b, str(e, "name"));
		fl_buf_puts(b, "</td><td>");
		esc(b, str(e, "state"));
		fl_buf_puts(b, "</td><td>");
		esc(b, str(e, "wchan"));
		fl_buf_puts(b, "</td><td>");
		esc(b, str(e, "syscall"));
		fl_buf_puts(b, "</td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void fd_lines(fl_buf *b, json_t *fds)
{
	fl_buf_puts(b, "<pre>");
	size_t i;
	json_t *e;
	json_array_foreach(fds, i, e)
	{
		if (i == MAX_ROWS) {
			fl_buf_printf(b, "… %zu more in results.json\n",
				      json_array_size(fds) - MAX_ROWS);
			break;
		}
		if (json_is_string(e)) {
			esc(b, json_string_value(e));
		} else {
			fl_buf_printf(b, "%5lld  ", integer(e, "fd"));
			esc(b, str(e, "target"));
		}
		fl_buf_putc(b, '\n');
	}
	fl_buf_puts(b, "</pre>");
}

static void oom_precursor(fl_buf *b, json_t *s)
{
	json_t *o = json_object_get(s, "oom_precursor");
	if (!json_is_object(o))
		return;
	char rss[32], thr[32];
	fl_fmt_bytes(rss, sizeof rss, num(o, "rss"));
	fl_fmt_bytes(thr, sizeof thr, num(o, "threshold"));
	fl_buf_printf(b, "<h3>OOM precursor</h3><p class=\"bad\">RSS reached %s "
			 "(threshold %s) at %.3f s: faultline took this "
			 "snapshot before the memory ran out.</p>",
		      rss, thr, num(o, "t"));
	if (json_is_string(json_object_get(o, "core"))) {
		/* A file name in the report directory. */
		fl_buf_puts(b, "<p>core dump: <a href=\"");
		esc(b, str(o, "core"));
		fl_buf_puts(b, "\"><code>");
		esc(b, str(o, "core"));
		fl_buf_puts(b, "</code></a></p>");
	} else if (json_is_string(json_object_get(o, "core_error"))) {
		fl_buf_puts(b, "<p class=\"muted\">no core dump: ");
		esc(b, str(o, "core_error"));
		fl_buf_puts(b, "</p>");
	}
	if (json_array_size(json_object_get(o, "fd_groups")))
		groups_table(b, json_object_get(o, "fd_groups"), "Open fds");
	if (json_array_size(json_object_get(o, "thread_groups")))
		groups_table(b, json_object_get(o, "thread_groups"), "Threads");
	json_t *fds = json_object_get(o, "fds");
	if (json_array_size(fds)) {
		json_t *fc = json_object_get(o, "fd_count");
		fl_buf_printf(b, "<details><summary>%lld open fds</summary>",
			      json_is_integer(fc) ? (long long)json_integer_value(fc)
						  : (long long)json_array_size(fds));
		fd_lines(b, fds);
		fl_buf_puts(b, "</details>");
	}
	json_t *th = json_object_get(o, "threads");
	if (json_array_size(th)) {
		fl_buf_printf(b, "<details><summary>%zu threads</summary>",
			      json_array_size(th));
		thread_rows(b, th);
		fl_buf_puts(b, "</details>");
	}
	if (json_is_string(json_object_get(o, "smaps_rollup"))) {
		fl_buf_puts(b, "<details><summary>smaps_rollup</summary><pre>");
		esc(b, str(o, "smaps_rollup"));
		fl_buf_puts(b, "</pre></details>");
	}
}

static void forensics(fl_buf *b, json_t *s)
{
	json_t *f = json_object_get(s, "forensics");
	if (!json_is_object(f) && !json_is_object(json_object_get(s, "oom_precursor")))
		return;
	fl_buf_puts(b, "<h3>Leak forensics</h3>");
	json_t *l = json_object_get(s, "leaks");
	if (json_is_object(l)) {
		char rb[32];
		fl_fmt_bytes(rb, sizeof rb, num(l, "rss"));
		fl_buf_printf(b, "<p>final minus baseline: <b>fds %+g, threads "
				 "%+g, RSS %s%s",
			      num(l, "fds"), num(l, "threads"),
			      num(l, "rss") > 0 ? "+" : "", rb);
		if (!isnan(num(l, "files")))
			fl_buf_printf(b, ", watched files %+g", num(l, "files"));
		fl_buf_puts(b, "</b></p>");
	}
	if (json_is_object(f) && json_object_get(f, "unavailable")) {
		fl_buf_puts(b, "<p class=\"muted\">");
		esc(b, str(f, "unavailable"));
		fl_buf_puts(b, "</p>");
	} else if (json_is_object(f)) {
		json_t *g = json_object_get(f, "fd_groups");
		fl_buf_printf(b, "<p>fds open at the end that were not at the "
				 "baseline: %lld</p>",
			      integer(f, "new_fd_count"));
		if (json_array_size(g)) {
			groups_table(b, g, "What they point to");
			fl_buf_puts(b, "<details><summary>every new fd</summary>");
			fd_lines(b, json_object_get(f, "new_fds"));
			fl_buf_puts(b, "</details>");
		}
		json_t *tg = json_object_get(f, "thread_groups");
		if (json_array_size(tg)) {
			fl_buf_puts(b, "<p>threads that were not there at the "
				       "baseline:</p>");
			groups_table(b, tg, "Threads (where blocked)");
		}
		json_t *th = json_object_get(f, "threads");
		if (json_array_size(th)) {
			fl_buf_printf(b, "<details><summary>all %zu threads at the "
					 "end</summary>",
				      json_array_size(th));
			thread_rows(b, th);
			fl_buf_puts(b, "</details>");
		}
	}
	/* Watched files are looked at also after the target exited. */
	json_t *fg = json_object_get(f, "file_groups");
	if (json_array_size(fg)) {
		fl_buf_printf(b, "<p>watched files that were not there at the "
				 "baseline: %lld</p>",
			      integer(f, "new_file_count"));
		groups_table(b, fg, "Files");
	}
	oom_precursor(b, s);
}

/* Counts of journal records by a key, most frequent first. */
struct tally {
	char *key;
	long long n;
};

static int tally_cmp(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->key, y->key);
}

static void journal(fl_buf *b, json_t *s)
{
	json_t *j = json_object_get(s, "journal");
	if (!json_is_object(j))
		return;
	json_t *recs = json_object_get(j, "records");
	size_t n = json_array_size(recs);
	fl_buf_puts(b, "<h3>Fault journal</h3><p>digest <code>");
	esc(b, str(j, "digest"));
	fl_buf_printf(b, "</code> · %lld fault%s recorded", integer(j, "total"),
		      integer(j, "total") == 1 ? "" : "s");
	long long lost = integer(j, "lost");
	if (lost)
		fl_buf_printf(b, " · <span class=\"bad\">%lld lost</span> (the "
				 "digest does not cover them)",
			      lost);
	int truncated = json_is_true(json_object_get(j, "truncated"));
	if (truncated)
		fl_buf_printf(b, " · the results keep the first %zu records", n);
	if (json_is_string(json_object_get(j, "file"))) {
		/* A file beside this page (a relative link, which the policy
		 * allows since it is a navigation, not a load). */
		fl_buf_puts(b, " · every record: <a href=\"");
		esc(b, str(j, "file"));
		fl_buf_puts(b, "\">");
		esc(b, str(j, "file"));
		fl_buf_puts(b, "</a>");
	}
	fl_buf_puts(b, "</p>");
	if (!n)
		return;
	/* Which point failed how, and which threads (actors) took the
	 * faults: the shape of a long journal at a glance. */
	struct tally *by_point = fl_xcalloc(n, sizeof *by_point);
	struct tally *by_actor = fl_xcalloc(n, sizeof *by_actor);
	size_t np = 0, na = 0;
	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
	{
		char key[512];
		snprintf(key, sizeof key, "%s\t%s", str(r, "point"), str(r, "errno"));
		size_t k;
		for (k = 0; k < np && strcmp(by_point[k].key, key); k++)
			;
		if (k == np)
			by_point[np++].key = fl_xstrdup(key);
		by_point[k].n++;
		for (k = 0; k < na && strcmp(by_actor[k].key, str(r, "actor")); k++)
			;
		if (k == na)
			by_actor[na++].key = fl_xstrdup(str(r, "actor"));
		by_actor[k].n++;
	}
	qsort(by_point, np, sizeof *by_point, tally_cmp);
	qsort(by_actor, na, sizeof *by_actor, tally_cmp);
	json_t *digests = json_object_get(j, "digests");
	fl_buf_printf(b, "<table><tr><th>Point</th><th>errno</th><th>Faults%s</th>"
			 "%s</tr>",
		      truncated ? " (in the records kept)" : "",
		      json_is_object(digests) ? "<th>Digest of the point</th>" : "");
	for (size_t k = 0; k < np; k++) {
		if (k < 50) {
			char *tab = strchr(by_point[k].key, '\t');
			*tab = '\0';
			fl_buf_puts(b, "<tr><td><code>");
			esc(b, by_point[k].key);
			fl_buf_puts(b, "</code></td><td>");
			esc(b, tab + 1);
			fl_buf_printf(b, "</td><td class=\"n\">%lld</td>",
				      by_point[k].n);
			if (json_is_object(digests)) {
				fl_buf_puts(b, "<td><code>");
				esc(b, str(digests, by_point[k].key));
				fl_buf_puts(b, "</code></td>");
			}
			fl_buf_puts(b, "</tr>");
		}
		free(by_point[k].key);
	}
	fl_buf_puts(b, "</table><p>by actor (thread): ");
	for (size_t k = 0; k < na; k++) {
		if (k < 30) {
			fl_buf_puts(b, k ? ", <code>" : "<code>");
			esc(b, by_actor[k].key);
			fl_buf_printf(b, "</code> %lld", by_actor[k].n);
		} else if (k == 30) {
			fl_buf_printf(b, ", and %zu more", na - 30);
		}
		free(by_actor[k].key);
	}
	fl_buf_puts(b, "</p>");
	free(by_point);
	free(by_actor);
	/* The first records as plain text columns: a table row per fault
	 * would be most of the page in a suite of long journals. */
	fl_buf_printf(b, "<details><summary>the first %zu records</summary><pre>"
			 "%9s  %-28s %-8s %8s  %s\n",
		      n < MAX_JOURNAL_ROWS ? n : MAX_JOURNAL_ROWS, "t (s)", "point",
		      "actor", "call n", "errno");
	json_array_foreach(recs, i, r)
	{
		if (i == MAX_JOURNAL_ROWS) {
			fl_buf_printf(b, "… %zu more in the journal file\n",
				      n - MAX_JOURNAL_ROWS);
			break;
		}
		fl_buf_printf(b, "%9.3f  ", num(r, "t"));
		esc(b, str(r, "point"));
		for (size_t w = strlen(str(r, "point")); w < 28; w++)
			fl_buf_putc(b, ' ');
		fl_buf_putc(b, ' ');
		esc(b, str(r, "actor"));
		for (size_t w = strlen(str(r, "actor")); w < 8; w++)
			fl_buf_putc(b, ' ');
		fl_buf_printf(b, " %8lld  ", integer(r, "n"));
		esc(b, str(r, "errno"));
		fl_buf_putc(b, '\n');
	}
	fl_buf_puts(b, "</pre></details>");
}

static void coverage(fl_buf *b, json_t *s)
{
	json_t *p = json_object_get(s, "points");
	if (!json_object_size(p))
		return;
	fl_buf_puts(b, "<h3>Fault coverage</h3><table><tr><th>Point</th>"
		       "<th>Calls seen</th><th>Faults fired</th><th>Share</th>"
		       "</tr>");
	const char *k;
	json_t *v;
	json_object_foreach(p, k, v)
	{
		double fired = num(v, "fired"), calls = num(v, "calls");
		fl_buf_puts(b, "<tr><td><code>");
		esc(b, k);
		fl_buf_printf(b, "</code></td><td class=\"n\">%.0f</td>", calls);
		if (fired == 0)
			fl_buf_puts(b, "<td class=\"n bad\">0 (never fired)</td>");
		else
			fl_buf_printf(b, "<td class=\"n\">%.0f</td>", fired);
		if (calls > 0)
			fl_buf_printf(b, "<td class=\"n\">%.1f %%</td></tr>",
				      100 * fired / calls);
		else
			fl_buf_puts(b, "<td class=\"n\">–</td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void repeat(fl_buf *b, json_t *s)
{
	json_t *r = json_object_get(s, "repeat");
	if (!json_is_object(r))
		return;
	json_t *vs = json_object_get(r, "verdicts"), *ds = json_object_get(r, "digests");
	json_t *durs = json_object_get(r, "durations_s");
	fl_buf_printf(b, "<h3>Repeated %lld times</h3><table><tr><th>Run</th>"
			 "<th>Verdict</th><th>Journal digest</th>%s</tr>",
		      integer(r, "runs"),
		      json_array_size(durs) ? "<th>Duration</th>" : "");
	const char *d0 = json_string_value(json_array_get(ds, 0));
	const char *v0 = json_string_value(json_array_get(vs, 0));
	size_t n = json_array_size(vs) > json_array_size(ds) ? json_array_size(vs)
							      : json_array_size(ds);
	for (size_t i = 0; i < n && i < MAX_ROWS; i++) {
		const char *v = json_string_value(json_array_get(vs, i));
		const char *d = json_string_value(json_array_get(ds, i));
		int vdiff = v && v0 && strcmp(v, v0);
		int ddiff = d && d0 && strcmp(d, d0);
		fl_buf_printf(b, "<tr><td class=\"n\">%zu</td><td class=\"%s\">", i + 1,
			      vdiff ? "bad" : "");
		esc(b, v ? v : "–");
		fl_buf_printf(b, "</td><td class=\"%s\"><code>", ddiff ? "bad" : "");
		esc(b, d ? d : "–");
		fl_buf_puts(b, "</code></td>");
		if (json_array_size(durs))
			fl_buf_printf(b, "<td class=\"n\">%.2f s</td>",
				      json_number_value(json_array_get(durs, i)));
		fl_buf_puts(b, "</tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void target_info(fl_buf *b, json_t *t)
{
	fl_buf_puts(b, "<p class=\"muted\">");
	json_t *argv = json_object_get(t, "argv");
	size_t i;
	json_t *a;
	fl_buf_puts(b, "command: <code>");
	json_array_foreach(argv, i, a)
	{
		if (i)
			fl_buf_putc(b, ' ');
		esc(b, json_string_value(a));
	}
	fl_buf_puts(b, "</code>");
	json_t *ex = json_object_get(t, "exit");
	if (json_is_object(ex)) {
		fl_buf_puts(b, " · ended: ");
		if (json_is_string(json_object_get(ex, "signal")))
			esc(b, str(ex, "signal"));
		else if (json_is_integer(json_object_get(ex, "code")))
			fl_buf_printf(b, "exit %lld", integer(ex, "code"));
		if (json_is_true(json_object_get(ex, "core_dumped")))
			fl_buf_puts(b, " (core dumped)");
		if (json_is_string(json_object_get(ex, "stopped_by"))) {
			fl_buf_puts(b, " (stopped by ");
			esc(b, str(ex, "stopped_by"));
			fl_buf_puts(b, ")");
		}
	}
	json_t *fp = json_object_get(t, "footprint");
	if (json_is_object(fp)) {
		fl_buf_printf(b, " · harness footprint subtracted: %lld fd, %lld "
				 "thread (",
			      integer(fp, "fds"), integer(fp, "threads"));
		esc(b, str(fp, "what"));
		fl_buf_puts(b, ")");
	}
	json_t *sm = json_object_get(t, "sampling");
	if (json_is_object(sm)) {
		fl_buf_printf(b, " · %lld samples at %.0f Hz, %.1f µs each (",
			      integer(sm, "samples"), num(sm, "hz"),
			      num(sm, "mean_cost_us"));
		esc(b, str(sm, "fd_method"));
		fl_buf_puts(b, ")");
		if (integer(sm, "errors"))
			fl_buf_printf(b, " · <span class=\"bad\">%lld sampling "
					 "errors</span>",
				      integer(sm, "errors"));
		if (integer(sm, "missed_ticks"))
			fl_buf_printf(b, " · %lld missed ticks",
				      integer(sm, "missed_ticks"));
	}
	fl_buf_puts(b, "</p>");
	/* The processes of the target's tree (its figures are their sum). */
	json_t *procs = json_object_get(t, "processes");
	if (json_array_size(procs) > 1) {
		fl_buf_puts(b, "<p>processes (figures summed): ");
		size_t pi;
		json_t *pr;
		json_array_foreach(procs, pi, pr)
		{
			if (pi == 20) {
				fl_buf_printf(b, ", %zu more",
					      json_array_size(procs) - 20);
				break;
			}
			fl_buf_puts(b, pi ? ", " : "");
			esc(b, str(pr, "name"));
			fl_buf_printf(b, " %lld%s%s", integer(pr, "pid"),
				      json_is_true(json_object_get(pr, "root"))
					      ? " (started)"
					      : "",
				      json_is_true(json_object_get(pr, "left_session"))
					      ? " (left the session)"
				      : json_is_true(json_object_get(pr, "left_group"))
					      ? " (left the group)"
					      : "");
		}
		fl_buf_puts(b, "</p>");
	}
	json_t *escaped = json_object_get(json_object_get(t, "escaped"), "message");
	if (json_is_string(escaped)) {
		fl_buf_puts(b, "<p class=\"bad\">");
		esc(b, json_string_value(escaped));
		fl_buf_puts(b, "</p>");
	}
	if (json_is_string(json_object_get(t, "start_error"))) {
		fl_buf_puts(b, "<p class=\"bad\">");
		esc(b, str(t, "start_error"));
		fl_buf_puts(b, "</p>");
	}
}

static void output_tails(fl_buf *b, json_t *t, int run, int runs)
{
	json_t *o = json_object_get(t, "output");
	if (!json_is_object(o))
		return;
	static const char *const which[2] = {"stdout", "stderr"};
	for (int k = 0; k < 2; k++) {
		char key[32];
		snprintf(key, sizeof key, "%s_tail", which[k]);
		const char *tail = str(o, key);
		snprintf(key, sizeof key, "%s_bytes", which[k]);
		long long total = integer(o, key);
		/* The page shows the last lines only; the results file keeps
		 * the whole captured tail. */
		size_t len = strlen(tail);
		const char *shown = tail;
		if (len > MAX_TAIL_BYTES) {
			shown = tail + len - MAX_TAIL_BYTES;
			const char *nl = strchr(shown, '\n');
			if (nl && nl[1])
				shown = nl + 1;
		}
		fl_buf_puts(b, "<details><summary>");
		if (runs > 1)
			fl_buf_printf(b, "run %d: ", run);
		fl_buf_printf(b, "%s (", which[k]);
		if (!total)
			fl_buf_puts(b, "empty");
		else if ((long long)strlen(shown) < total)
			fl_buf_printf(b, "last %zu of %lld bytes", strlen(shown), total);
		else
			fl_buf_printf(b, "%lld bytes", total);
		fl_buf_puts(b, ")</summary><pre>");
		esc(b, shown);
		fl_buf_puts(b, "</pre></details>");
	}
}

static void scenario_section(fl_buf *b, json_t *s, int idx)
{
	const char *v = str(s, "verdict");
	fl_buf_printf(b, "<section class=\"scenario\" id=\"s%d\"><h2><span "
			 "class=\"v v-",
		      idx);
	esc(b, v);
	fl_buf_puts(b, "\">");
	esc(b, v);
	fl_buf_puts(b, "</span> ");
	esc(b, str(s, "name"));
	fl_buf_puts(b, "<a class=\"up\" href=\"#table\">back to the table</a></h2>");
	if (json_is_string(json_object_get(s, "message"))) {
		fl_buf_puts(b, "<p class=\"msg\">");
		esc(b, str(s, "message"));
		fl_buf_puts(b, "</p>");
	}
	if (json_is_string(json_object_get(s, "description"))) {
		fl_buf_puts(b, "<p>");
		esc(b, str(s, "description"));
		fl_buf_puts(b, "</p>");
	}
	fl_buf_puts(b, "<p class=\"muted\">");
	esc(b, str(s, "id"));
	fl_buf_printf(b, " · seed %lld · %.2f s", integer(s, "seed"),
		      num(s, "duration_s"));
	json_t *xf = json_object_get(s, "xfail");
	if (json_is_object(xf)) {
		fl_buf_puts(b, " · expected to fail");
		if (json_is_string(json_object_get(xf, "reason"))) {
			fl_buf_puts(b, ": ");
			esc(b, str(xf, "reason"));
		}
	}
	if (json_is_true(json_object_get(s, "time_based_windows")))
		fl_buf_puts(b, " · fault windows opened on wall-clock time "
			       "(not deterministic)");
	json_t *replay = json_object_get(s, "replay");
	if (json_is_object(replay))
		fl_buf_printf(b, " · a replay of %lld recorded faults",
			      integer(replay, "faults"));
	fl_buf_puts(b, "</p><p>re-run: <code>");
	esc(b, str(s, "rerun"));
	fl_buf_puts(b, "</code></p>");
	size_t i;
	json_t *err = json_object_get(s, "error");
	if (json_is_object(err) && json_is_string(json_object_get(err, "traceback"))) {
		fl_buf_puts(b, "<pre>");
		esc(b, str(err, "traceback"));
		fl_buf_puts(b, "</pre>");
	}
	json_t *warnings = json_object_get(s, "warnings");
	if (json_array_size(warnings)) {
		fl_buf_puts(b, "<div class=\"warn\"><ul>");
		json_t *w;
		json_array_foreach(warnings, i, w)
		{
			fl_buf_puts(b, "<li>");
			esc(b, json_string_value(w));
			fl_buf_puts(b, "</li>");
		}
		fl_buf_puts(b, "</ul></div>");
	}
	repeat(b, s);
	expectations(b, s);
	json_t *targets = json_object_get(s, "targets");
	size_t nt = json_array_size(targets);
	json_t *t;
	json_array_foreach(targets, i, t)
	{
		if (nt > 1)
			fl_buf_printf(b, "<h3>Target run %zu of %zu</h3>", i + 1, nt);
		target_info(b, t);
		chart(b, s, t, idx, (int)i, nt == 1);
	}
	episodes(b, s);
	forensics(b, s);
	journal(b, s);
	coverage(b, s);
	json_array_foreach(targets, i, t)
		output_tails(b, t, (int)i + 1, (int)nt);
	json_t *log = json_object_get(s, "log");
	if (json_array_size(log)) {
		fl_buf_printf(b, "<details><summary>log (%zu lines)</summary><pre>",
			      json_array_size(log));
		json_t *e;
		json_array_foreach(log, i, e)
		{
			if (i == MAX_LOG_LINES) {
				fl_buf_printf(b, "… %zu more in results.json\n",
					      json_array_size(log) - MAX_LOG_LINES);
				break;
			}
			fl_buf_printf(b, "%8.3f  ", num(e, "t"));
			esc(b, str(e, "msg"));
			fl_buf_putc(b, '\n');
		}
		fl_buf_puts(b, "</pre></details>");
	}
	fl_buf_puts(b, "</section>");
}

int fl_report_html(json_t *doc, const char *path)
{
	json_t *sum = json_object_get(doc, "summary");
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
			"charset=\"utf-8\">");
	fl_html_csp(&b, css, script);
	fl_buf_puts(&b, "<meta name=\"viewport\" content=\"width=device-width\">"
			"<meta name=\"referrer\" content=\"no-referrer\"><title>");
	fl_buf_printf(&b, "faultline: %s, %lld passed, %lld failed",
		      integer(sum, "exit_status") ? "FAIL" : "PASS",
		      integer(sum, "passed"),
		      integer(sum, "failed") + integer(sum, "errors") +
			      integer(sum, "xpassed") + integer(sum, "flaky"));
	fl_buf_printf(&b, "</title><style>%s</style></head><body>", css);
	header(&b, doc);
	fl_buf_puts(&b, "<main>");
	scenario_table(&b, doc);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
		scenario_section(&b, s, (int)i);
	fl_buf_printf(&b, "</main><script>%s</script></body></html>\n", script);
	int r = fl_write_file_atomic(path, b.data, b.len);
	fl_buf_free(&b);
	return r;
}
