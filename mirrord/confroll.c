/*
 * confroll.c: `Rollout: NAME` stanzas (confroll.h).
 *
 * They are not rows of the key table (confkey.c): that table sets the
 * fields of the global and mirror stanzas, while a plan's values are
 * structured (steps, phases) and checked against each other. The value
 * parsers are still confval.h's.
 */
#include "mirrord/common.h"

#include <ctype.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/conf.h"
#include "mirrord/confkey.h"
#include "mirrord/confroll.h"
#include "mirrord/confval.h"
#include "mirrord/deb822.h"

#define CONFROLL_TIMEOUT_DEFAULT 30

/* What one stanza's parse needs to name its errors. */
struct roll_ctx {
	const struct confkey_src *src;
	struct conf_rollout *r;
	unsigned line;		/* the field's */
	const char *key;	/* the field's name, as written */
};

static int ATTR_PRINTF(3, 4)
roll_err(struct merr *err, const struct roll_ctx *x, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return confkey_err(err, x->src, x->line, "rollout '%s': %s: %s",
	    x->r->name ? x->r->name : "?", x->key, msg);
}

/* The next word of [*p, end) into w (NUL-terminated, at most n - 1). */
static bool
roll_word(const char **p, const char *end, char *w, size_t n)
{
	const char *s = *p;
	size_t len;

	while (s < end && isspace((unsigned char)*s))
		s++;
	len = 0;
	while (s + len < end && !isspace((unsigned char)s[len]))
		len++;
	*p = s + len;
	if (len == 0 || len >= n)
		return false;
	memcpy(w, s, len);
	w[len] = '\0';
	return true;
}

/* "canary 4h, staging 24h, production". */
static int
roll_steps(const struct roll_ctx *x, const char *v, struct merr *err)
{
	struct conf_rollout *r = x->r;
	const char *p = v, *end, *q;
	char name[CHANNEL_NAME_MAX + 2], dur[32];
	struct merr e2 = { 0 };
	size_t i;
	long soak;

	if (r->nsteps > 0)
		return roll_err(err, x, "given twice");
	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		q = p;
		if (!roll_word(&q, end, name, sizeof(name)))
			return roll_err(err, x, "a step without a channel "
			    "(want 'CHANNEL DURATION, ..., CHANNEL')");
		if (channel_name_check(name, &e2))
			return roll_err(err, x, "%s", e2.msg);
		soak = 0;
		if (roll_word(&q, end, dur, sizeof(dur)) &&
		    confval_duration(dur, strlen(dur), &soak, &e2))
			return roll_err(err, x, "step '%s': invalid soak "
			    "'%s'", name, dur);
		while (q < end && isspace((unsigned char)*q))
			q++;
		if (q != end)
			return roll_err(err, x, "step '%s': want 'CHANNEL "
			    "DURATION'", name);
		for (i = 0; i < r->nsteps; i++)
			if (strcmp(r->steps[i].channel, name) == 0)
				return roll_err(err, x, "channel '%s' is a "
				    "step twice", name);
		if (r->nsteps == CONFROLL_STEPS_MAX)
			return roll_err(err, x, "more than %d steps",
			    CONFROLL_STEPS_MAX);
		r->steps = xreallocarray(r->steps, r->nsteps + 1,
		    sizeof(*r->steps));
		r->steps[r->nsteps].channel = xstrdup(name);
		r->steps[r->nsteps++].soak = soak;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	for (i = 0; i + 1 < r->nsteps; i++)
		if (r->steps[i].soak <= 0)
			return roll_err(err, x, "step '%s' needs a soak time "
			    "(only the last may have none)",
			    r->steps[i].channel);
	return 0;
}

/* "10 25 50 100 every 6h". */
static int
roll_phases(const struct roll_ctx *x, const char *v, struct merr *err)
{
	struct conf_rollout *r = x->r;
	const char *p = v, *end = v + strlen(v);
	struct merr e2 = { 0 };
	char w[32];
	unsigned pct;

	r->nphases = 0;
	r->phase_every = 0;
	while (roll_word(&p, end, w, sizeof(w))) {
		if (strcasecmp(w, "every") == 0) {
			if (!roll_word(&p, end, w, sizeof(w)) ||
			    confval_duration(w, strlen(w), &r->phase_every,
			    &e2) || r->phase_every <= 0)
				return roll_err(err, x, "'every' wants a "
				    "duration");
			break;
		}
		if (confval_uint(w, strlen(w), 1, 100, &pct, &e2))
			return roll_err(err, x, "'%s': a percentage is 1 to "
			    "100", w);
		if (r->nphases > 0 && pct <= r->phases[r->nphases - 1])
			return roll_err(err, x, "percentages must increase");
		if (r->nphases == CONFROLL_PHASES_MAX)
			return roll_err(err, x, "more than %d percentages",
			    CONFROLL_PHASES_MAX);
		r->phases[r->nphases++] = pct;
	}
	if (roll_word(&p, end, w, sizeof(w)))
		return roll_err(err, x, "'%s' after the duration", w);
	if (r->nphases == 0 || r->phases[r->nphases - 1] != 100)
		return roll_err(err, x, "want percentages ending at 100, "
		    "then 'every DURATION'");
	if (r->phase_every <= 0)
		return roll_err(err, x, "missing 'every DURATION'");
	return 0;
}

static int
roll_check(const struct roll_ctx *x, const char *v, struct merr *err)
{
	struct conf_rollout *r = x->r;
	struct merr e2 = { 0 };
	struct stat st;
	char *u, *path;
	int rc;

	free(r->check);
	r->check = NULL;
	if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0) {
		/* Kept as written: %c and %s are substituted at each check. */
		if (confval_http_url(v, "", &u, &e2))
			return roll_err(err, x, "%s", e2.msg);
		free(u);
		r->check = xstrdup(v);
		r->check_url = true;
		return 0;
	}
	if (v[0] != '/')
		return roll_err(err, x, "want an http(s) URL or an absolute "
		    "path, not '%s'", v);
	/* The program is the first word; the others are its arguments. */
	path = xstrndup(v, strcspn(v, " \t"));
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    access(path, X_OK) != 0) {
		rc = roll_err(err, x, "'%s' is not an executable file", path);
		free(path);
		return rc;
	}
	free(path);
	r->check = xstrdup(v);
	r->check_url = false;
	return 0;
}

/* yes/no style words: *out = (v == a), else v must be b. */
static int
roll_choice(const struct roll_ctx *x, const char *v, const char *a,
    const char *b, bool *out, struct merr *err)
{
	if (strcasecmp(v, a) == 0)
		*out = true;
	else if (strcasecmp(v, b) == 0)
		*out = false;
	else
		return roll_err(err, x, "must be %s or %s, not '%s'", a, b, v);
	return 0;
}

static int
roll_field(const struct roll_ctx *x, const char *k, const char *v,
    struct merr *err)
{
	struct conf_rollout *r = x->r;
	struct merr e2 = { 0 };

	if (strcasecmp(k, "Rollout") == 0)
		return 0;
	if (strcasecmp(k, "Mirror") == 0) {
		if (!confval_name(v, strlen(v)))
			return roll_err(err, x, "'%s' is not a mirror name",
			    v);
		free(r->mirror);
		r->mirror = xstrdup(v);
		return 0;
	}
	if (strcasecmp(k, "From") == 0) {
		if (strcmp(v, "latest") != 0 && channel_name_check(v, &e2))
			return roll_err(err, x, "want latest or a channel: "
			    "%s", e2.msg);
		free(r->from);
		r->from = xstrdup(v);
		return 0;
	}
	if (strcasecmp(k, "Steps") == 0)
		return roll_steps(x, v, err);
	if (strcasecmp(k, "Health-Check") == 0)
		return roll_check(x, v, err);
	if (strcasecmp(k, "Health-Timeout") == 0) {
		if (confval_duration(v, strlen(v), &r->check_timeout, &e2) ||
		    r->check_timeout <= 0)
			return roll_err(err, x, "invalid duration '%s'", v);
		return 0;
	}
	if (strcasecmp(k, "Phases") == 0)
		return roll_phases(x, v, err);
	if (strcasecmp(k, "Security") == 0)
		return roll_choice(x, v, "immediate", "soak",
		    &r->security_immediate, err);
	if (strcasecmp(k, "On-Failure") == 0)
		return roll_choice(x, v, "rollback", "halt", &r->rollback,
		    err);
	if (strcasecmp(k, "Supersede") == 0)
		return roll_choice(x, v, "yes", "no", &r->supersede, err);
	if (strcasecmp(k, "Require-Adoption") == 0) {
		size_t l = strlen(v) - (str_endswith(v, "%") ? 1 : 0);

		if (confval_uint(v, l, 1, 100, &r->require_adoption, &e2))
			return roll_err(err, x, "'%s': want a percentage, 1 "
			    "to 100", v);
		return 0;
	}
	return roll_err(err, x, "unknown key in a Rollout stanza");
}

/* The plan's name: the Rollout: field, checked. */
static int
roll_name(const struct confkey_src *src, const struct deb822_para *para,
    struct conf_rollout *r, struct merr *err)
{
	const struct deb822_field *f = deb822_field(para, "Rollout");

	if (!confval_name(f->value, f->value_len))
		return confkey_err(err, src, f->line, "Rollout: '%s' is not "
		    "a valid name ([a-z0-9][a-z0-9._-]*, at most %d bytes)",
		    f->value, CONFVAL_NAME_MAX);
	r->name = xstrdup(f->value);
	return 0;
}

int
confroll_parse(struct conf *c, const struct confkey_src *src,
    const struct deb822_para *para, struct merr *err)
{
	struct conf_rollout r;
	struct roll_ctx x;
	const struct conf_rollout *old;
	char key[64];
	size_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	r.check_timeout = CONFROLL_TIMEOUT_DEFAULT;
	r.file = xstrdup(src->file);
	r.line = para->line;
	x.src = src;
	x.r = &r;
	rc = roll_name(src, para, &r, err);
	for (i = 0; rc == 0 && i < para->nfields; i++) {
		const struct deb822_field *f = &para->fields[i];

		snprintf(key, sizeof(key), "%.*s", (int)f->name_len, f->name);
		x.line = f->line;
		x.key = key;
		rc = roll_field(&x, key, f->value, err);
	}
	x.line = para->line;
	x.key = "stanza";
	if (rc == 0 && r.mirror == NULL)
		rc = roll_err(err, &x, "missing 'Mirror'");
	if (rc == 0 && r.nsteps == 0)
		rc = roll_err(err, &x, "missing 'Steps'");
	if (rc == 0 && (old = conf_rollout(c, r.name)) != NULL)
		rc = roll_err(err, &x, "already defined in '%s' line %u",
		    old->file, old->line);
	if (rc) {
		confroll_release(&r);
		return rc;
	}
	if (r.from == NULL)
		r.from = xstrdup("latest");
	c->rollouts = xreallocarray(c->rollouts, c->nrollouts + 1,
	    sizeof(*c->rollouts));
	c->rollouts[c->nrollouts++] = r;
	return 0;
}

/* Is channel ch a step of plan r? */
static bool
roll_has_step(const struct conf_rollout *r, const char *ch)
{
	size_t i;

	for (i = 0; i < r->nsteps; i++)
		if (strcmp(r->steps[i].channel, ch) == 0)
			return true;
	return false;
}

int
confroll_check(const struct conf *c, struct merr *err)
{
	const struct conf_rollout *r, *o;
	size_t i, j, k;

	for (i = 0; i < c->nrollouts; i++) {
		r = &c->rollouts[i];
		if (conf_mirror(c, r->mirror) == NULL)
			return merr_set(err, MERR_CONF, "'%s' line %u: "
			    "rollout '%s': Mirror: no mirror '%s' is "
			    "configured", r->file, r->line, r->name,
			    r->mirror);
		if (roll_has_step(r, r->from))
			return merr_set(err, MERR_CONF, "'%s' line %u: "
			    "rollout '%s': From: '%s' is also one of its "
			    "steps", r->file, r->line, r->name, r->from);
		for (j = 0; j < i; j++) {
			o = &c->rollouts[j];
			if (strcmp(o->mirror, r->mirror) != 0)
				continue;
			for (k = 0; k < r->nsteps; k++)
				if (roll_has_step(o, r->steps[k].channel))
					return merr_set(err, MERR_CONF,
					    "'%s' line %u: rollout '%s': "
					    "channel '%s' is a step of "
					    "rollout '%s' too ('%s' line %u)",
					    r->file, r->line, r->name,
					    r->steps[k].channel, o->name,
					    o->file, o->line);
		}
	}
	return 0;
}

const struct conf_rollout *
conf_rollout(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nrollouts; i++)
		if (strcmp(c->rollouts[i].name, name) == 0)
			return &c->rollouts[i];
	return NULL;
}

void
confroll_release(struct conf_rollout *r)
{
	size_t i;

	for (i = 0; i < r->nsteps; i++)
		free(r->steps[i].channel);
	free(r->steps);
	free(r->name);
	free(r->mirror);
	free(r->from);
	free(r->check);
	free(r->file);
	memset(r, 0, sizeof(*r));
}
