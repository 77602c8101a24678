/* probe.c: libcurl SigV4 against tests/s3/swift.sh on port 18100 (work in progress, issue 18): cc -o probe probe.c -lcurl */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
static int req(const char *method, const char *url, const char *body) {
	CURL *c = curl_easy_init(); struct curl_slist *h = NULL; long code = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
	curl_easy_setopt(c, CURLOPT_USERNAME, "test:tester");
	curl_easy_setopt(c, CURLOPT_PASSWORD, "testing");
	h = curl_slist_append(h, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body) { curl_easy_setopt(c, CURLOPT_POSTFIELDS, body); }
	int rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	printf("\n%s %s -> rc %d http %ld\n", method, url, rc, code);
	curl_slist_free_all(h); curl_easy_cleanup(c); return 0;
}
int main(void) { setvbuf(stdout, NULL, _IONBF, 0);
	req("PUT", "http://127.0.0.1:18100/mirrord-blobs", NULL);
	req("PUT", "http://127.0.0.1:18100/mirrord-blobs/ab/abcdef", "hello blob\n");
	req("GET", "http://127.0.0.1:18100/mirrord-blobs/ab/abcdef", NULL);
	req("HEAD", "http://127.0.0.1:18100/mirrord-blobs/ab/abcdef", NULL);
	req("GET", "http://127.0.0.1:18100/mirrord-blobs?list-type=2", NULL);
	req("DELETE", "http://127.0.0.1:18100/mirrord-blobs/ab/abcdef", NULL);
	return 0;
}
