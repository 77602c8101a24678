/*
 * gpgpolicy.c: apt's signature policy (gpgpolicy.h), apart from gpg.c so
 * that it can be tested without keys, homes or gpg.
 */
#include "mirrord/common.h"

#include <ctype.h>

#include "mirrord/gpgpolicy.h"

/* Length of [s, e) without trailing blanks and carriage returns. */
static size_t
gpgpolicy_rtrim_len(const char *s, const char *e)
{
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	return (size_t)(e - s);
}

/* Splits "rsa2048" into its family's length (3) and its bits (2048). */
static size_t
gpgpolicy_family(const char *s, size_t n, unsigned long *bits)
{
	size_t i = n;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	*bits = i < n ? strtoul(s + i, NULL, 10) : 0;
	return i;
}

/*
 * Whether one policy item (s, n) allows algo: the same name, or for
 * ">=NAMEBITS" the same family with at least as many bits, as gpg's
 * --assert-pubkey-algo compares them.
 */
static bool
gpgpolicy_item_allows(const char *s, size_t n, const char *algo)
{
	unsigned long want, have;
	size_t fam, afam;

	if (n < 2 || memcmp(s, ">=", 2) != 0)
		return strlen(algo) == n && strncasecmp(s, algo, n) == 0;
	s += 2;
	n -= 2;
	fam = gpgpolicy_family(s, n, &want);
	afam = gpgpolicy_family(algo, strlen(algo), &have);
	return fam == afam && strncasecmp(s, algo, fam) == 0 && have >= want;
}

bool
gpgpolicy_allows(const char *policy, const char *algo)
{
	const char *p = policy, *e;

	while (*p != '\0') {
		e = p + strcspn(p, ",");
		while (p < e && isspace((unsigned char)*p))
			p++;
		if (gpgpolicy_item_allows(p, gpgpolicy_rtrim_len(p, e), algo))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

const char *
gpgpolicy_check(const char *policy)
{
	const char *p = policy, *e, *c;
	unsigned long bits;
	size_t n;

	if (policy == NULL)
		return NULL;
	do {
		e = p + strcspn(p, ",");
		while (p < e && isspace((unsigned char)*p))
			p++;
		n = gpgpolicy_rtrim_len(p, e);
		if (n == 0)
			return "an empty item";
		c = p;
		if (n >= 2 && memcmp(p, ">=", 2) == 0) {
			c += 2;
			n -= 2;
			if (gpgpolicy_family(c, n, &bits) == n || bits == 0)
				return "'>=' needs a name with a bit length, "
				    "as in '>=rsa2048'";
		}
		for (; n > 0; n--, c++) {
			if (!isalnum((unsigned char)*c))
				return "an algorithm name has only letters "
				    "and digits";
		}
		p = *e ? e + 1 : e;
	} while (*e != '\0');
	return NULL;
}

bool
gpgpolicy_digest_trusted(int md)
{
	return md == GPGPOLICY_MD_SHA224 || gpgpolicy_digest_signs(md);
}

bool
gpgpolicy_digest_signs(int md)
{
	return md == GPGPOLICY_MD_SHA256 || md == GPGPOLICY_MD_SHA384 ||
	    md == GPGPOLICY_MD_SHA512;
}
