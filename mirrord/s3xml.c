/*
 * s3xml.c: the S3 answers' XML, with expat (its one owner; see s3xml.h).
 *
 * One SAX walk serves the three documents: it keeps the names of the
 * open elements (the depth we read is at most 3) and the text of the one
 * being read, and acts when an element ends. Text is capped so that a
 * hostile answer cannot grow memory beyond its own size.
 */
#include "mirrord/common.h"

#include <expat.h>
#include <limits.h>

#include "mirrord/s3xml.h"
#include "mirrord/util.h"

#define DEPTH_KEPT	3
#define NAME_MAX_KEPT	64
#define TEXT_MAX	4096	/* a key is at most 1,024 bytes in S3 */

enum kind { K_ERROR, K_UPLOAD, K_LIST };

struct walk {
	XML_Parser xp;
	enum kind kind;
	int depth;
	char names[DEPTH_KEPT + 1][NAME_MAX_KEPT];	/* [1] is the root */
	struct buf text;
	bool root_ok;
	int rc;			/* a callback's error, or 0 */
	struct merr *err;
	/* K_ERROR, K_UPLOAD */
	struct s3xml_error *e;
	char *upload_id;
	/* K_LIST: the Contents being read, and the page's fields */
	s3xml_object_fn fn;
	void *ctx;
	struct s3xml_page *page;
	char *key;
	char *lm;
	uint64_t size;
	bool have_size, bad;
};

static const char *
local_name(const char *name)
{
	const char *c = strrchr(name, ':');

	return c != NULL ? c + 1 : name;
}

static const char *root_of[] = {
	[K_ERROR] = "Error",
	[K_UPLOAD] = "InitiateMultipartUploadResult",
	[K_LIST] = "ListBucketResult",
};

static void XMLCALL
walk_start(void *arg, const char *name, const char **attrs)
{
	struct walk *w = arg;

	w->depth++;
	if (w->depth <= DEPTH_KEPT)
		snprintf(w->names[w->depth], NAME_MAX_KEPT, "%s",
		    local_name(name));
	if (w->depth == 1)
		w->root_ok = strcmp(w->names[1], root_of[w->kind]) == 0;
	buf_reset(&w->text);
}

static void XMLCALL
walk_text(void *arg, const char *s, int len)
{
	struct walk *w = arg;

	if (w->depth < 2 || w->depth > DEPTH_KEPT)
		return;
	if (w->text.len + (size_t)len > TEXT_MAX) {
		w->bad = true;
		return;
	}
	buf_add(&w->text, s, (size_t)len);
}

/* The text just read, NUL-terminated, owned. */
static char *
walk_take(struct walk *w)
{
	char *s = xmalloc(w->text.len + 1);

	memcpy(s, w->text.p != NULL ? w->text.p : "", w->text.len);
	s[w->text.len] = '\0';
	return s;
}

/* The end of a <Contents>: one object for the caller. */
static void
walk_object(struct walk *w)
{
	if (w->key == NULL || !w->have_size || w->bad) {
		w->rc = merr_set(w->err, MERR_PARSE, "a listed object "
		    "without a key or a numeric size");
	} else {
		w->rc = w->fn(w->ctx, w->key, w->size,
		    w->lm != NULL ? w->lm : "", w->err);
	}
	free(w->key);
	free(w->lm);
	w->key = w->lm = NULL;
	w->have_size = false;
	if (w->rc)
		XML_StopParser(w->xp, XML_FALSE);
}

static void
walk_list_end(struct walk *w, const char *name)
{
	char *t;

	if (w->depth == 2 && strcmp(name, "Contents") == 0) {
		walk_object(w);
	} else if (w->depth == 2 && strcmp(name, "IsTruncated") == 0) {
		w->page->truncated = w->text.len == 4 &&
		    memcmp(w->text.p, "true", 4) == 0;
	} else if (w->depth == 2 &&
	    strcmp(name, "NextContinuationToken") == 0) {
		free(w->page->next_token);
		w->page->next_token = walk_take(w);
	} else if (w->depth == 3 && strcmp(w->names[2], "Contents") == 0) {
		if (strcmp(name, "Key") == 0) {
			free(w->key);
			w->key = walk_take(w);
		} else if (strcmp(name, "LastModified") == 0) {
			free(w->lm);
			w->lm = walk_take(w);
		} else if (strcmp(name, "Size") == 0) {
			t = walk_take(w);
			w->have_size = parse_u64(t, strlen(t), UINT64_MAX,
			    &w->size) == 0;
			free(t);
		}
	}
}

static void XMLCALL
walk_end(void *arg, const char *name)
{
	struct walk *w = arg;

	name = local_name(name);
	if (w->root_ok && w->rc == 0) {
		if (w->kind == K_LIST)
			walk_list_end(w, name);
		else if (w->depth == 2 && w->kind == K_UPLOAD &&
		    strcmp(name, "UploadId") == 0) {
			free(w->upload_id);
			w->upload_id = walk_take(w);
		} else if (w->depth == 2 && w->kind == K_ERROR) {
			if (strcmp(name, "Code") == 0)
				snprintf(w->e->code, sizeof(w->e->code),
				    "%.*s", (int)w->text.len, w->text.p);
			else if (strcmp(name, "Message") == 0)
				snprintf(w->e->message,
				    sizeof(w->e->message), "%.*s",
				    (int)w->text.len, w->text.p);
		}
	}
	buf_reset(&w->text);
	w->depth--;
}

/* Parses xml into w; MERR_PARSE naming expat's reason, or w->rc. */
static int
walk_run(struct walk *w, const char *xml, size_t len)
{
	enum XML_Status st;

	buf_init(&w->text);
	w->xp = XML_ParserCreate(NULL);
	if (w->xp == NULL)
		util_oom();
	XML_SetUserData(w->xp, w);
	XML_SetElementHandler(w->xp, walk_start, walk_end);
	XML_SetCharacterDataHandler(w->xp, walk_text);
	if (len > INT_MAX) {
		w->rc = merr_set(w->err, MERR_PARSE, "xml: too large");
	} else {
		st = XML_Parse(w->xp, xml, (int)len, XML_TRUE);
		if (st != XML_STATUS_OK && w->rc == 0)
			w->rc = merr_set(w->err, MERR_PARSE, "xml: %s at "
			    "line %lu", XML_ErrorString(
			    XML_GetErrorCode(w->xp)),
			    (unsigned long)XML_GetCurrentLineNumber(w->xp));
	}
	if (w->rc == 0 && !w->root_ok)
		w->rc = merr_set(w->err, MERR_PARSE, "xml: <%s> expected, "
		    "got <%s>", root_of[w->kind], w->names[1]);
	XML_ParserFree(w->xp);
	buf_release(&w->text);
	free(w->key);
	free(w->lm);
	return w->rc;
}

bool
s3xml_error(const char *xml, size_t len, struct s3xml_error *out)
{
	struct walk w;
	struct merr local;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	w.kind = K_ERROR;
	w.e = out;
	w.err = &local;
	if (walk_run(&w, xml, len) == 0)
		return true;
	memset(out, 0, sizeof(*out));
	return false;
}

int
s3xml_upload_id(const char *xml, size_t len, char **id, struct merr *err)
{
	struct walk w;
	int rc;

	*id = NULL;
	memset(&w, 0, sizeof(w));
	w.kind = K_UPLOAD;
	w.err = err;
	rc = walk_run(&w, xml, len);
	if (rc == 0 && (w.upload_id == NULL || w.upload_id[0] == '\0'))
		rc = merr_set(err, MERR_PARSE, "xml: no UploadId");
	if (rc) {
		free(w.upload_id);
		return rc;
	}
	*id = w.upload_id;
	return 0;
}

int
s3xml_list(const char *xml, size_t len, s3xml_object_fn fn, void *ctx,
    struct s3xml_page *page, struct merr *err)
{
	struct walk w;

	memset(page, 0, sizeof(*page));
	memset(&w, 0, sizeof(w));
	w.kind = K_LIST;
	w.err = err;
	w.fn = fn;
	w.ctx = ctx;
	w.page = page;
	return walk_run(&w, xml, len);
}

void
s3xml_page_release(struct s3xml_page *page)
{
	if (page == NULL)
		return;
	free(page->next_token);
	memset(page, 0, sizeof(*page));
}
