/* The computed expiry: expire_time, which the API writes without a zone
 * ("2021-05-27 16:46:25.0"), as epoch seconds and whole days left. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "expiry.h"

#define DAY 86400
/* Zone offsets are refused from 24 hours on, like ISO 8601's. */
#define MAX_OFFSET (24 * 3600 - 1)

static const char FORMAT[] = "expire_time is not YYYY-MM-DD HH:MM:SS[.fraction][Z|+HH:MM]";

/* n decimal digits at *p, moved past them; -1 when they are not there. */
static long digits(const char **p, const char *end, int n)
{
	long v = 0;
	int k;
	if (end - *p < n)
		return -1;
	for (k = 0; k < n; k++) {
		unsigned char c = (unsigned char)(*p)[k];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), with no dependence on the local zone. */
static int64_t days_from_civil(long y, long m, long d)
{
	int64_t era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(long y, long m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* A zone at *p to end: Z, +HH:MM, +HHMM or +HH. Returns 0 and the offset
 * in seconds east of UTC, or -1. */
static int parse_zone(const char *p, const char *end, long *offset)
{
	long hh, mm = 0;
	int sign;
	if (end - p == 1 && (*p == 'Z' || *p == 'z')) {
		*offset = 0;
		return 0;
	}
	if (p == end || (*p != '+' && *p != '-'))
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if ((hh = digits(&p, end, 2)) < 0)
		return -1;
	if (p < end) {
		if (*p == ':')
			p++;
		if ((mm = digits(&p, end, 2)) < 0)
			return -1;
	}
	if (p != end || hh > 23 || mm > 59)
		return -1;
	*offset = sign * (hh * 3600 + mm * 60);
	return 0;
}

int scm_expiry_parse(const char *s, size_t len, long offset, int64_t *epoch,
		     const char **reason)
{
	const char *p = s, *end = s + len;
	long y, mo, d, h, mi, sec;
	if (len == 0) {
		*reason = "expire_time is empty";
		return -1;
	}
	*reason = FORMAT;
	if ((y = digits(&p, end, 4)) < 0 || p == end || *p++ != '-' ||
	    (mo = digits(&p, end, 2)) < 0 || p == end || *p++ != '-' ||
	    (d = digits(&p, end, 2)) < 0 || p == end ||
	    (*p != ' ' && *p != 'T' && *p != 't') || ++p == end ||
	    (h = digits(&p, end, 2)) < 0 || p == end || *p++ != ':' ||
	    (mi = digits(&p, end, 2)) < 0 || p == end || *p++ != ':' ||
	    (sec = digits(&p, end, 2)) < 0)
		return -1;
	if (p < end && (*p == '.' || *p == ',')) {
		const char *frac = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == frac)
			return -1;
	}
	if (p < end) {
		if (*p == ' ')
			p++;
		if (parse_zone(p, end, &offset) != 0) {
			*reason = "expire_time has a zone that is not Z, +HH:MM, +HHMM or +HH";
			return -1;
		}
	}
	/* 60 seconds: a leap second, as the next minute's first */
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60) {
		*reason = "expire_time is not a date on the calendar";
		return -1;
	}
	*epoch = days_from_civil(y, mo, d) * DAY + h * 3600 + mi * 60 + sec - offset;
	return 0;
}

/* The utc_offset argument: seconds east of UTC, or "Z", "+HH:MM", "+HHMM",
 * "+HH". Raises otherwise. */
static long offset_arg(lua_State *L, int arg)
{
	lua_Integer secs;
	long offset;
	switch (lua_type(L, arg)) {
	case LUA_TNONE:
	case LUA_TNIL:
		return 0;
	case LUA_TNUMBER:
		if (!scm_tointeger(L, arg, &secs) || secs < -MAX_OFFSET || secs > MAX_OFFSET)
			luaL_argerror(L, arg, "utc_offset must be whole seconds east of UTC, under 24 hours");
		return (long)secs;
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, arg, &len);
		if (parse_zone(s, s + len, &offset) != 0)
			luaL_argerror(L, arg, "utc_offset must look like +08:00, -0530, +08 or Z");
		return offset;
	}
	default:
		return luaL_argerror(L, arg, lua_pushfstring(L, "utc_offset must be a number or a string, got %s",
							    luaL_typename(L, arg)));
	}
}

int scm_l_expiry(lua_State *L)
{
	const char *s, *reason;
	size_t len;
	long offset;
	double now;
	int64_t epoch;
	if (lua_type(L, 1) == LUA_TTABLE) {
		lua_getfield(L, 1, "expire_time");
		if (lua_type(L, -1) != LUA_TSTRING) {
			int t = lua_type(L, -1);
			lua_pushnil(L);
			if (t == LUA_TNIL || t == LUA_TLIGHTUSERDATA) /* absent, or a JSON null */
				lua_pushliteral(L, "no expire_time");
			else
				lua_pushfstring(L, "expire_time is a %s, not a date string", lua_typename(L, t));
			return 2;
		}
		lua_replace(L, 1);
	} else if (lua_type(L, 1) != LUA_TSTRING) {
		return luaL_argerror(L, 1, lua_pushfstring(L, "certificate or expire_time string expected, got %s",
							      luaL_typename(L, 1)));
	}
	s = lua_tolstring(L, 1, &len);
	offset = offset_arg(L, 2);
	if (lua_isnoneornil(L, 3))
		now = (double)time(NULL);
	else
		now = luaL_checknumber(L, 3);
	/* days left must fit an integer, whatever now says */
	if (!(now > -1e15 && now < 1e15))
		return luaL_argerror(L, 3, "now must be epoch seconds");
	if (scm_expiry_parse(s, len, offset, &epoch, &reason) != 0) {
		lua_pushnil(L);
		lua_pushstring(L, reason);
		return 2;
	}
	lua_pushinteger(L, (lua_Integer)epoch);
	lua_pushinteger(L, (lua_Integer)floor(((double)epoch - now) / DAY));
	return 2;
}
