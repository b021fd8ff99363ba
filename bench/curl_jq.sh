#!/bin/sh
# The shell loop: curl for each page, jq to read it.
#   sh bench/curl_jq.sh URL TOKEN
url=$1 token=$2 offset=0 n=0 total=1
while [ "$offset" -lt "$total" ]; do
	page=$(curl -sf -H "X-Auth-Token: $token" "$url/v3/scm/certificates?limit=50&offset=$offset") || exit 1
	total=$(printf '%s' "$page" | jq '.total_count')
	n=$((n + $(printf '%s' "$page" | jq '.certificates | length')))
	offset=$((offset + 50))
done
echo "$n"
