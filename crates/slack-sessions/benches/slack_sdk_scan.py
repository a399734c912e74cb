"""Pages a whole org with Python slack_sdk, as an admin script would; the org-scan benchmark's
baseline (run by crates/slack-sessions/examples/list_all_bench.rs).

Usage: slack_sdk_scan.py API_URL TOKEN. Prints one line: the number of sessions seen.
`admin_users_session_list(limit=1000)` is called following `response_metadata.next_cursor`
until it is empty, reading each session's fields the way a selection would.
"""
import sys

from slack_sdk import WebClient


def main() -> None:
    url, token = sys.argv[1], sys.argv[2]
    client = WebClient(token=token, base_url=url)
    seen = 0
    cursor = None
    while True:
        page = client.admin_users_session_list(limit=1000, cursor=cursor)
        for s in page["active_sessions"]:
            # Touch what a selection reads, so nothing is skipped lazily.
            _ = (s["user_id"], s["session_id"], s.get("created"), s.get("recent"))
            seen += 1
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    print(seen)


if __name__ == "__main__":
    main()
