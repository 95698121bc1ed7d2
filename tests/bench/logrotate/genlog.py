#!/usr/bin/env python3
"""Writes a deterministic synthetic access log (combined format) of about BYTES bytes to stdout.

    genlog.py BYTES > access.log
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
