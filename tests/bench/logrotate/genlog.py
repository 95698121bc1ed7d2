#!/usr/bin/env python3
"""Writes a deterministic synthetic access log (combined format) of about BYTES bytes to stdout;
with "varied", a mixed application log instead (syslog lines, JSON lines with request ids,
Zope-style event log entries with tracebacks), less repetitive than the access log.

    genlog.py BYTES [varied] > access.log
"""
import random, sys

r = random.Random(42)
ips = ["10.%d.%d.%d" % (r.randrange(256), r.randrange(256), r.randrange(256)) for _ in range(5000)]
paths = ["/", "/index.html", "/news", "/events", "/Plone/front-page", "/portal_css/base.css",
         "/++resource++plone.js", "/login_form", "/search?SearchableText=%s", "/image_%d.png",
         "/folder/doc-%d", "/@@search", "/favicon.ico", "/robots.txt"]
agents = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
          "Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/7.88.1",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"]
codes = [200]*20 + [304]*4 + [404, 301, 302, 500]
target = int(sys.argv[1])
out = sys.stdout


def varied():
    words = ("user session cache miss hit request backend timeout retry commit abort pack storage "
             "transaction conflict index catalog render template view portal object blob read write").split()
    frames = ["Products/CMFCore/PortalObject.py", "ZPublisher/WSGIPublisher.py", "ZODB/Connection.py",
              "plone/app/theming/transform.py", "zope/interface/adapter.py", "Products/ZCatalog/Catalog.py"]
    hosts = ["web%d" % i for i in range(1, 7)]
    n = 0; t = 1700000000; buf = []
    while n < target:
        t += r.randrange(5)
        ts = "2026-11-23T%02d:%02d:%02d.%03dZ" % ((t // 3600) % 24, (t // 60) % 60, t % 60, r.randrange(1000))
        k = r.randrange(10)
        if k < 4:
            line = '{"time": "%s", "level": "%s", "host": "%s", "req": "%032x", "ms": %d, "msg": "%s"}\n' % (
                ts, r.choice(["INFO", "INFO", "DEBUG", "WARN"]), r.choice(hosts), r.getrandbits(128),
                r.randrange(1, 5000), " ".join(r.choice(words) for _ in range(r.randrange(3, 12))))
        elif k < 8:
            line = "%s %s %s[%d]: %s id=%08x n=%d\n" % (
                ts, r.choice(hosts), r.choice(["zeo", "instance1", "instance2", "haproxy", "cron"]),
                r.randrange(100, 65000), " ".join(r.choice(words) for _ in range(r.randrange(2, 9))),
                r.getrandbits(32), r.randrange(10 ** 6))
        else:
            line = "------\n%s ERROR Zope.SiteErrorLog %s http://%s/Plone/%s\nTraceback (innermost last):\n" % (
                ts, r.getrandbits(40), r.choice(hosts), r.choice(words))
            for _ in range(r.randrange(2, 7)):
                line += '  File "%s", line %d, in %s\n' % (r.choice(frames), r.randrange(20, 2000), r.choice(words))
            line += "%s: %s %d\n" % (r.choice(["ConflictError", "KeyError", "POSKeyError", "AttributeError"]),
                                       r.choice(words), r.randrange(10 ** 9))
        buf.append(line); n += len(line)
        if len(buf) > 10000: out.write("".join(buf)); buf = []
    out.write("".join(buf))
    sys.exit(0)


if len(sys.argv) > 2 and sys.argv[2] == "varied":
    varied()
n = 0; t = 1700000000
buf = []
while n < target:
    t += r.randrange(3)
    p = r.choice(paths)
    if "%s" in p: p = p % r.choice(["plone","zope","news","python","logs"])
    elif "%d" in p: p = p % r.randrange(2000)
    line = '%s - - [%s +0000] "GET %s HTTP/1.1" %d %d "-" "%s"\n' % (
        r.choice(ips), "23/Nov/2026:%02d:%02d:%02d" % ((t//3600)%24, (t//60)%60, t%60), p,
        r.choice(codes), r.randrange(200, 60000), r.choice(agents))
    buf.append(line); n += len(line)
    if len(buf) > 10000: out.write("".join(buf)); buf = []
out.write("".join(buf))
