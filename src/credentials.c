/* Where credentials come from, first found wins: the options; the SDK
 * environment variables; the SDK credentials file's [global] section; the
 * ECS metadata service, only when asked for (credentials = "ecs", or
 * HUAWEICLOUD_SDK_CREDENTIALS=ecs). Nothing here does I/O but reading the
 * credentials file: the account id and ECS keys are fetched later.
 * Half a credential in any source is a programmer error naming what is
 * missing. Secret values are never shown. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "credentials.h"
#include "error.h"

#define ENV_AK "HUAWEICLOUD_SDK_AK"
#define ENV_SK "HUAWEICLOUD_SDK_SK"
#define ENV_SECURITY_TOKEN "HUAWEICLOUD_SDK_SECURITY_TOKEN"
#define ENV_DOMAIN_ID "HUAWEICLOUD_SDK_DOMAIN_ID"
#define ENV_FILE "HUAWEICLOUD_SDK_CREDENTIALS_FILE"
#define ENV_SWITCH "HUAWEICLOUD_SDK_CREDENTIALS"
#define FILE_SECTION "global"
#define MAX_FILE (64 * 1024)

/* The four options a credential source can set, and their names there. */
static const int IDS[] = {SCM_OPT_AK, SCM_OPT_SK, SCM_OPT_SECURITY_TOKEN,
			  SCM_OPT_DOMAIN_ID};
static const char *const ENV_NAMES[] = {ENV_AK, ENV_SK, ENV_SECURITY_TOKEN,
					ENV_DOMAIN_ID};
static const char *const FILE_KEYS[] = {"ak", "sk", "security_token", "domain_id"};
#define NCRED 4

static int named_in_opts(const scm_opts *o)
{
	return o->v[SCM_OPT_TOKEN].set || o->v[SCM_OPT_AK].set ||
	       o->v[SCM_OPT_SK].set || o->v[SCM_OPT_SECURITY_TOKEN].set ||
	       o->v[SCM_OPT_DOMAIN_ID].set || o->v[SCM_OPT_CREDENTIALS].set;
}

/* A header-safe value: not empty, no CR, LF or NUL. */
static int usable(const char *s, size_t len)
{
	return len > 0 && memchr(s, '\r', len) == NULL &&
	       memchr(s, '\n', len) == NULL && memchr(s, '\0', len) == NULL;
}

static void set_value(scm_opts *o, int id, const char *s, size_t len)
{
	o->v[id].set = 1;
	o->v[id].s = s;
	o->v[id].len = len;
}

/* Checks one source's set: ak and sk both or neither. */
static void check_pair(lua_State *L, int arg, const scm_opts *o,
		       const char *ak_name, const char *sk_name, const char *where)
{
	if (o->v[SCM_OPT_AK].set && !o->v[SCM_OPT_SK].set)
		luaL_argerror(L, arg, lua_pushfstring(L, "%s is set%s but %s is missing",
						     ak_name, where, sk_name));
	if (o->v[SCM_OPT_SK].set && !o->v[SCM_OPT_AK].set)
		luaL_argerror(L, arg, lua_pushfstring(L, "%s is set%s but %s is missing",
						     sk_name, where, ak_name));
}

/* Sets option id to a copy of s kept in the holder table: the options
 * outlive the call (an iterator reads them page after page), the
 * environment's storage may change or go meanwhile. */
static void set_copy(lua_State *L, scm_opts *o, int id, const char *s, int holder)
{
	size_t len = strlen(s);
	lua_pushlstring(L, s, len);
	set_value(o, id, lua_tostring(L, -1), len);
	lua_rawseti(L, holder, (int)lua_rawlen(L, holder) + 1);
}

static int from_environment(lua_State *L, int arg, scm_opts *o, int holder)
{
	int k, any = 0;
	const char *value[NCRED];
	for (k = 0; k < NCRED; k++) {
		value[k] = getenv(ENV_NAMES[k]);
		if (value[k] != NULL && value[k][0] == '\0')
			value[k] = NULL;
		if (k < 2 && value[k] != NULL)
			any = 1; /* ak or sk: the environment names credentials */
	}
	if (!any)
		return 0;
	for (k = 0; k < NCRED; k++) {
		if (value[k] == NULL)
			continue;
		if (!usable(value[k], strlen(value[k])))
			luaL_argerror(L, arg, lua_pushfstring(L,
				"%s must not contain CR or LF", ENV_NAMES[k]));
		set_copy(L, o, IDS[k], value[k], holder);
	}
	check_pair(L, arg, o, ENV_AK, ENV_SK, " in the environment");
	return 1;
}

/* [s, end) trimmed and ended with a NUL in place. */
static char *trim(char *s, const char *end)
{
	size_t n = (size_t)(end - s), skip = scm_trim(s, &n, "\r");
	s[skip + n] = '\0';
	return s + skip;
}

/* Reads the credentials file's [global] section. Values are pushed as Lua
 * strings into the table at holder, which keeps them alive for the call;
 * the file's bytes are wiped. Returns 1 when the file named credentials. */
static int from_file(lua_State *L, int arg, scm_opts *o, int holder, int diagnose)
{
	const char *path = getenv(ENV_FILE);
	const char *home = getenv("HOME");
	char fallback[1024], *text, *start, *line, *next;
	scm_buf *box;
	size_t len = 0;
	struct stat st;
	int fd, k, in_section = 0, has_section = 0, any = 0;

	if (path == NULL || path[0] == '\0') {
		if (home == NULL || home[0] == '\0')
			return 0;
		snprintf(fallback, sizeof fallback, "%s/.huaweicloud/credentials", home);
		path = fallback;
	}
	/* A boxed buffer, made before the file is opened (a raise cannot
	 * leak either), and whose __gc wipes the keys it held */
	box = scm_buf_box(L);
	if (scm_buf_reserve(box, MAX_FILE + 1) != 0)
		return luaL_error(L, "scm: not enough memory");
	/* Opened without blocking and checked before reading: a directory,
	 * FIFO or device is refused at once, never read. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && path == fallback) {
			scm_buf_free(box);
			lua_pop(L, 1);
			return 0;
		}
		return luaL_argerror(L, arg, lua_pushfstring(L,
			"cannot read the credentials file %s: %s", path, strerror(errno)));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return luaL_argerror(L, arg, lua_pushfstring(L,
			"cannot read %s: not a regular file", path));
	}
	text = box->data;
	while (len < MAX_FILE) {
		ssize_t got = read(fd, text + len, MAX_FILE - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	text[len] = '\0';
	/* a UTF-8 byte order mark, as Windows editors write */
	start = text;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		start += 3;

	for (line = start; line != NULL && *line != '\0'; line = next) {
		char *eol = strchr(line, '\n'), *eq, *key, *val;
		next = eol ? eol + 1 : NULL;
		if (eol == NULL)
			eol = line + strlen(line);
		line = trim(line, eol);
		if (*line == '#' || *line == ';' || *line == '\0')
			continue;
		if (*line == '[') {
			char *close = strchr(line, ']');
			in_section = close != NULL &&
				     strcmp(trim(line + 1, close), FILE_SECTION) == 0;
			has_section |= in_section;
			continue;
		}
		eq = strchr(line, '=');
		if (!in_section || eq == NULL)
			continue;
		key = trim(line, eq);
		val = trim(eq + 1, eq + 1 + strlen(eq + 1));
		for (k = 0; k < NCRED; k++) {
			if (strcmp(key, FILE_KEYS[k]) != 0 || *val == '\0')
				continue;
			if (!usable(val, strlen(val))) {
				scm_wipe(text, len);
				luaL_argerror(L, arg, lua_pushfstring(L,
					"%s in [" FILE_SECTION "] of %s must not contain CR or LF",
					FILE_KEYS[k], path));
			}
			lua_pushstring(L, val);
			set_value(o, IDS[k], lua_tostring(L, -1), strlen(val));
			lua_rawseti(L, holder, (int)lua_rawlen(L, holder) + 1);
			any |= k < 2;
		}
	}
	scm_buf_wipe(box);
	lua_pop(L, 1); /* the text */
	if (!any) {
		for (k = 0; k < NCRED; k++)
			o->v[IDS[k]].set = 0;
		if (diagnose && !has_section)
			luaL_argerror(L, arg, lua_pushfstring(L,
				"the credentials file %s has no [" FILE_SECTION "] section "
				"(SCM is a global service: put ak and sk under [" FILE_SECTION "])",
				path));
		if (diagnose)
			luaL_argerror(L, arg, lua_pushfstring(L,
				"[" FILE_SECTION "] of the credentials file %s has no ak and sk", path));
		return 0;
	}
	lua_pushfstring(L, " in [" FILE_SECTION "] of %s", path);
	check_pair(L, arg, o, "ak", "sk", lua_tostring(L, -1));
	lua_pop(L, 1);
	return 1;
}

void scm_credentials_resolve(lua_State *L, int arg, scm_opts *o, int holder)
{
	const scm_value *v = o->v;
	const char *sw;
	int ecs;
	if (named_in_opts(o)) {
		if (v[SCM_OPT_TOKEN].set && (v[SCM_OPT_AK].set || v[SCM_OPT_SK].set))
			luaL_argerror(L, arg, "token and ak/sk are exclusive: give one kind of credentials");
		check_pair(L, arg, o, "ak", "sk", "");
		if (v[SCM_OPT_CREDENTIALS].set &&
		    (v[SCM_OPT_TOKEN].set || v[SCM_OPT_AK].set || v[SCM_OPT_SECURITY_TOKEN].set))
			luaL_argerror(L, arg, "credentials = \"ecs\" takes its keys from the ECS "
					      "metadata service: give no token, ak, sk or security_token with it");
		if (v[SCM_OPT_CREDENTIALS].set)
			return;
		if (!v[SCM_OPT_AK].set &&
		    (v[SCM_OPT_SECURITY_TOKEN].set || v[SCM_OPT_DOMAIN_ID].set))
			luaL_argerror(L, arg, "security_token and domain_id go with ak and sk");
		return;
	}
	holder = scm_absindex(L, holder);
	if (from_environment(L, arg, o, holder))
		return;
	sw = getenv(ENV_SWITCH);
	if (sw != NULL && sw[0] != '\0' && strcmp(sw, "ecs") != 0)
		luaL_argerror(L, arg, ENV_SWITCH " must be \"ecs\" or unset");
	ecs = sw != NULL && strcmp(sw, "ecs") == 0;
	if (from_file(L, arg, o, holder, !ecs))
		return;
	if (ecs) {
		const char *domain = getenv(ENV_DOMAIN_ID);
		set_value(o, SCM_OPT_CREDENTIALS, "ecs", 3);
		if (domain != NULL && domain[0] != '\0') {
			if (!usable(domain, strlen(domain)))
				luaL_argerror(L, arg, ENV_DOMAIN_ID " must not contain CR or LF");
			set_copy(L, o, SCM_OPT_DOMAIN_ID, domain, holder);
		}
		return;
	}
	luaL_argerror(L, arg, "no credentials: set token, or ak and sk, in the options, "
			      "in " ENV_AK " and " ENV_SK ", or in the [global] section "
			      "of ~/.huaweicloud/credentials (or " ENV_FILE "); or "
			      "credentials = \"ecs\" (" ENV_SWITCH "=ecs) on a Huawei Cloud server");
}

int scm_credentials_sign(const scm_opts *o, const char *url, int with_domain,
			 scm_signed *s)
{
	const scm_value *v = o->v;
	size_t n = 0;

	s->n = 0;
	s->auth.data = NULL;
	s->auth.len = s->auth.cap = 0;
	if (scm_url_host(url, s->host, sizeof s->host) != 0)
		return -1;
	scm_sign_date((long long)time(NULL), s->date);
	s->headers[n].name = "Host", s->headers[n].value = s->host;
	s->headers[n++].value_len = strlen(s->host);
	s->headers[n].name = "X-Sdk-Date", s->headers[n].value = s->date;
	s->headers[n++].value_len = strlen(s->date);
	if (with_domain && v[SCM_OPT_DOMAIN_ID].set)
		s->headers[n].name = "X-Domain-Id", s->headers[n].value = v[SCM_OPT_DOMAIN_ID].s,
		s->headers[n++].value_len = v[SCM_OPT_DOMAIN_ID].len;
	if (v[SCM_OPT_SECURITY_TOKEN].set)
		s->headers[n].name = "X-Security-Token",
		s->headers[n].value = v[SCM_OPT_SECURITY_TOKEN].s,
		s->headers[n++].value_len = v[SCM_OPT_SECURITY_TOKEN].len;
	s->n = n;
	if (scm_sign_url(v[SCM_OPT_AK].s, v[SCM_OPT_AK].len, v[SCM_OPT_SK].s, v[SCM_OPT_SK].len,
			 "GET", url, s->headers, n, NULL, 0, &s->auth) != 0) {
		scm_buf_wipe(&s->auth);
		return -1;
	}
	return 0;
}
