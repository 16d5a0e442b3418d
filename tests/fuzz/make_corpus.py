#!/usr/bin/env python3
"""Writes the hostile seed corpus of issue 11 to tests/MicroMoments.Stream.Fuzz/corpus/{events,rules}/.

Each events seed is an NDJSON file (one or more records, as `simulate` reads them); each rules seed is a rules file.
The files are committed; run this again only to regenerate them (it overwrites the generated ones by name and
leaves other files, such as crash inputs saved by the fuzzer, alone).
"""
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENTS = os.path.join(ROOT, "MicroMoments.Stream.Fuzz", "corpus", "events")
RULES = os.path.join(ROOT, "MicroMoments.Stream.Fuzz", "corpus", "rules")
T0 = "2026-11-24T10:00:00.000Z"


def ev(event, user="atk-1", ts=T0, props=None, ctx=None, traits=None, mid=None, typ="track"):
    body = {"type": typ, "event": event, "userId": user, "timestamp": ts,
            "properties": props or {}, "context": ctx or {"timezone": "Europe/Berlin"}}
    if traits is not None:
        body["traits"] = traits
    if mid is not None:
        body["messageId"] = mid
    return json.dumps(body, separators=(",", ":")).encode()


def write(folder, name, data):
    if isinstance(data, str):
        data = data.encode()
    if isinstance(data, list):
        data = b"\n".join(data) + b"\n"
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def events():
    os.makedirs(EVENTS, exist_ok=True)
    w = lambda name, data: write(EVENTS, name, data)
    # A realistic baseline the fuzzer mutates from.
    w("ok-task-failed-x3.ndjson", [ev("Task Failed", props={"task": "notifications-setup"}, ts=f"2026-11-24T10:0{i}:00Z", mid=f"m{i}") for i in range(3)])
    w("ok-welcome-dwell.ndjson", [json.dumps({"type": "screen", "name": "Welcome", "userId": "atk-1", "timestamp": T0}).encode(),
                                   ev("Feature Used", props={"feature": "dashboard"}, ts="2026-11-24T10:05:00Z")])
    w("ok-flat-shape.ndjson", b'{"event":"feature_used","user_id":"u-1","timestamp":"2026-11-24T10:00:00Z","feature_used":"dashboard","device":"desktop"}\n')
    # Item 1: folder time zones, and zones that are files but no zone.
    for i, tz in enumerate(["Europe", "America/", "Etc", "right", "posix", "right/UTC", "posix/Europe/Berlin", "../../../../etc/passwd",
                            "/etc/localtime", "Europe/../../../proc/self/environ", "", " ", "Europe/Berlin\u0000", "localtime",
                            "posixrules", "Factory", "zone.tab", "tzdata.zi", "+14:00", "UTC+99", "Europe\\Berlin"]):
        w(f"tz-folder-{i:02}.ndjson", [ev("Task Failed", props={"task": "t"}, ctx={"timezone": tz}),
                                        ev("Feature Used", props={"feature": "dashboard"}, ctx={"timezone": tz}, ts="2026-11-28T10:00:00Z")])
    w("tz-50kb.ndjson", [ev("Feature Used", props={"feature": "x"}, ctx={"timezone": "Europe/" + "A" * 50_000})])
    # Item 2: absurd numbers.
    for i, d in enumerate(["1e400", "-1e400", "\"Infinity\"", "\"-Infinity\"", "\"NaN\"", "-5000", "0", "1.7976931348623157e308",
                           "9223372036854775807", "99999999999999999999999999", "1e-400", "\"1e400\"", "-0", "4.9e-324"]):
        line = ('{"type":"track","event":"Task Completed","userId":"atk-1","timestamp":"%s","properties":{"task":"notifications-setup","durationMs":%s}}' % (T0, d)).encode()
        w(f"num-duration-{i:02}.ndjson", [line] * 6)
    for i, (k, v) in enumerate([("step", "1e400"), ("totalSteps", "1e400"), ("totalSteps", "-1"), ("step", "\"NaN\""),
                                ("totalSteps", "2147483648"), ("value", "1e400")]):
        w(f"num-onboarding-{i:02}.ndjson", [('{"type":"track","event":"Onboarding Step Completed","userId":"atk-1","timestamp":"%s","properties":{"%s":%s}}' % (T0, k, v)).encode(),
                                            ('{"type":"track","event":"Onboarding Step Skipped","userId":"atk-1","timestamp":"%s","properties":{"step":%s,"totalSteps":%s}}' % (T0, v, v)).encode()])
    # Item 5: timestamps.
    for i, ts in enumerate(["9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.9999999+00:00", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z",
                            "1969-12-31T23:59:59Z", "2026-13-45T99:99:99Z", "2026-11-24T10:00:00+25:00", "not a time", "", "1732443330",
                            "2026-11-24T10:00:00.123456789012345Z", "+275760-09-13T00:00:00Z"]):
        w(f"ts-{i:02}.ndjson", [ev("Task Failed", props={"task": "t"}, ts=ts), ev("Feature Used", props={"feature": "f"})])
    w("ts-number.ndjson", b'{"type":"track","event":"x","userId":"atk-1","timestamp":1e400}\n')
    # Items 5 and 7: invalid UTF-8.
    w("utf8-user-ff.ndjson", b'{"type":"track","event":"Content Shared","userId":"m-\xff","timestamp":"2026-11-24T10:00:00Z"}\n'
                             b'{"type":"track","event":"Content Shared","userId":"m-\xfe","timestamp":"2026-11-24T10:01:00Z"}\n')
    w("utf8-property.ndjson", b'{"type":"track","event":"Task Failed","userId":"atk-1","timestamp":"2026-11-24T10:00:00Z","properties":{"task":"\xc3\x28\xed\xa0\x80"}}\n')
    w("utf8-overlong.ndjson", b'{"type":"track","event":"\xc0\xafTask Failed","userId":"\xe0\x80\xaf","timestamp":"2026-11-24T10:00:00Z"}\n')
    w("utf8-lone-surrogate-escape.ndjson", b'{"type":"track","event":"Task Failed","userId":"atk-\\ud800","timestamp":"2026-11-24T10:00:00Z","properties":{"task":"\\udfff"}}\n')
    w("utf8-bom.ndjson", b'\xef\xbb\xbf{"type":"track","event":"Task Failed","userId":"atk-1","timestamp":"2026-11-24T10:00:00Z"}\n')
    # Deeply nested JSON.
    w("nested-properties.ndjson", b'{"type":"track","event":"x","userId":"atk-1","timestamp":"2026-11-24T10:00:00Z","properties":{"task":' + b"[" * 100_000 + b"]" * 100_000 + b"}}\n")
    w("nested-context.ndjson", b'{"type":"track","event":"x","userId":"atk-1","context":' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b"}\n")
    w("nested-unclosed.ndjson", b"[" * 100_000 + b"\n")
    # Item 6: thousands of traits, features and task names.
    w("many-traits.ndjson", [ev("identify", typ="identify", traits={f"t{i}": "v" * 20 for i in range(5_000)})])
    w("many-features.ndjson", [ev("Feature Used", props={"feature": f"feature-{i}"}, mid=f"f{i}") for i in range(2_000)])
    w("many-tasks.ndjson", [ev("Task Completed", props={"task": f"task-{i}", "durationMs": 1000}, mid=f"k{i}") for i in range(2_000)])
    w("many-properties.ndjson", [ev("Task Failed", props={f"p{i}": i for i in range(10_000)})])
    w("long-strings.ndjson", [ev("Task Failed" * 1000, user="u" * 20_000, props={"task": "t" * 100_000})])
    # Item 8: attacker text in templated URLs.
    for i, t in enumerate(['"><script>alert(1)</script>/../../@evil.example?a=1#', "javascript:alert(1)", "https://evil.example/",
                           "{{user.traits.name}}", "%0d%0aSet-Cookie:x=1", "../../../etc/passwd", "\u202egnp.exe"]):
        w(f"url-{i:02}.ndjson", [ev("Task Failed", props={"task": t}, ts=f"2026-11-24T10:0{k}:00Z", mid=f"u{i}-{k}") for k in range(3)]
          + [ev("Product Added", props={"cartId": t}, ts="2026-11-24T10:04:00Z"),
             ev("Form Field Abandoned", props={"form": t, "field": "Company Description"}, ts="2026-11-24T10:05:00Z"),
             ev("identify", typ="identify", traits={"name": t}, ts="2026-11-24T10:06:00Z")])
    # Odd shapes.
    for i, line in enumerate([b"", b"null", b"[]", b"123", b'"x"', b"{}", b'{"userId":null}', b'{"userId":{}}', b'{"userId":["a"]}',
                              b'{"userId":1e400}', b'{"type":"alias","previousId":"good-1","userId":"atk-1"}', b'{"type":"group","groupId":"g","userId":"atk-1","traits":[1,2]}',
                              b'{"type":"identify","userId":"atk-1","traits":"x"}', b'{"type":"track","userId":"atk-1","properties":[]}',
                              b'{"type":"track","event":null,"userId":"atk-1"}', b'{"userId":"a","userId":"b","event":"x"}',
                              b'{"type":"page","userId":"atk-1","context":{"page":{"path":null}}}', b'{"anonymousId":"atk-1","event":"Task Failed"}',
                              b'{"type":"track","event":"Intervention Clicked","userId":"atk-1","properties":{"interventionId":"x","ruleId":"faster-than-usual"}}',
                              b'{"type":"track","event":"Intervention Dismissed","userId":"atk-1","properties":{"interventionId":null,"ruleId":1e400}}',
                              b'{"type":"track","event":"x","userId":"atk-1"', b'{"a":"\\u0000"}', b"\x00\x00\x00", b"\xff\xfe{}"]):
        w(f"shape-{i:02}.ndjson", line + b"\n")


ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" \
             "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" \
             "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\nrules:\n  ? *h\n  : 1\n"

RULE = """version: fuzz
rules:
  - id: r1
    trigger: { kind: %s }
    action:
      moment: confidence
      channel: in_app
      priority: 10
      message: { title: "t", body: "%s", action: { label: L, url: "https://x.example/{{trigger.task}}" } }
"""


def rules():
    os.makedirs(RULES, exist_ok=True)
    w = lambda name, data: write(RULES, name, data)
    shutil.copyfile(os.path.join(ROOT, "..", "src", "MicroMoments.Stream.Worker", "Rules", "default.rules.yaml"), os.path.join(RULES, "default.rules.yaml"))
    # Item 4: durations.
    for i, d in enumerate(["99999999d", "1e300s", "P99999999D", "Infinityd", "-1d", "0s", "NaNs", "1e-300ms", "P1Y", "9223372036854775807ms", "10675199d", "10675200d"]):
        w(f"duration-{i:02}.yaml", RULE % ("count, event: Task Failed, times: 3, within: %s, per: task" % d, "b"))
    w("escalation-10000000d.yaml", """version: fuzz
rules:
  - id: r1
    trigger: { kind: event, event: Task Failed }
    action: { moment: confidence, channel: in_app, priority: 10, message: { title: t, body: b } }
  - id: r2
    trigger: { kind: escalation, rule: r1, after: 10000000d }
    action: { moment: confidence, channel: in_app, priority: 10, message: { title: t, body: b } }
""")
    w("dwell-huge.yaml", RULE % ("dwell, view: Welcome, after: 10000000d", "b"))
    w("inactivity-huge.yaml", RULE % ("inactivity, after: 10000000d", "b"))
    w("policy-huge.yaml", "version: fuzz\npolicies:\n  caps:\n    - { max: 99999999999, per: 10000000d }\n  dismissalPause: { after: 0, for: 10000000d }\n  autoPause: { after: 1, for: 1e300s }\n  progressiveDisclosure: 10000000d\n  quietHours: { from: \"25:99\", to: \"-1:00\", mode: defer }\n"
      + (RULE % ("event, event: Task Failed", "b")).split("\n", 1)[1])
    w("nested-brackets.yaml", "[" * 100_000)
    w("nested-braces.yaml", "rules: " + "{a: " * 20_000 + "1" + "}" * 20_000)
    w("nested-block.yaml", "".join("  " * i + "a:\n" for i in range(500)))
    w("template-cubic.yaml", RULE % ("event, event: Task Failed", '{{a ?? \\"' + " " * 4_000))
    w("template-unclosed.yaml", RULE % ("event, event: Task Failed", "{{" * 5_000))
    w("template-nested.yaml", RULE % ("event, event: Task Failed", "{{ {{ {{ user.traits.name | label | label ?? ?? }} }} }}"))
    w("alias-bomb-key.yaml", ALIAS_BOMB)
    w("alias-bomb-value.yaml", ALIAS_BOMB.replace("rules:\n  ? *h\n  : 1\n", "rules: *h\n"))
    w("alias-bomb-root-key.yaml", ALIAS_BOMB.replace("rules:\n  ? *h\n  : 1\n", "? *h\n: 1\n? [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n: 2\n"))
    w("json-rules.json", json.dumps({"version": "j", "rules": [{"id": "r", "trigger": {"kind": "event", "event": "x"},
                                                                 "action": {"moment": "m", "channel": "in_app", "priority": 1e400, "message": {"title": "t", "body": "b"}}}]}).replace("Infinity", "1e400"))
    w("experiment-weights.yaml", """version: fuzz
rules:
  - id: r1
    trigger: { kind: event, event: Task Failed }
    action: { moment: confidence, channel: in_app, priority: 10, message: { title: t, body: b } }
    experiment: { name: e, holdout: 1.5, variants: [ { name: a, weight: 0 }, { name: b, weight: -1 } ] }
""")
    w("empty.yaml", "")
    w("binary.yaml", bytes(range(256)))
    w("tabs-and-bom.yaml", b"\xef\xbb\xbfversion:\t1\n\trules: [\n")
    w("duplicate-ids.yaml", (RULE % ("event, event: Task Failed", "b")) + (RULE % ("event, event: Task Failed", "b")).split("rules:\n", 1)[1])


if __name__ == "__main__":
    events()
    rules()
