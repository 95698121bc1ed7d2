"""The man pages: lint-clean (mandoc -Tlint, or groff -ww without mandoc), their examples
valid (JSON parses, the C recipe compiles against the SDK header), and in step with the tree
(every unit the build installs is in opsagent(8)'s FILES, every attribute of every built
recipe is in opsagent.json(5), every AWS_* variable of the design is in ENVIRONMENT)."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import tap  # noqa: E402

SRC = harness.SRCDIR
PAGES = {
    "opsagent.8": ("OPSAGENT", "8"),
    "opsagent.json.5": ("OPSAGENT.JSON", "5"),
    "opsagent-recipes.7": ("OPSAGENT-RECIPES", "7"),
    "opsagent-recipe.3": ("OPSAGENT-RECIPE", "3"),
}
AWS_VARIABLES = ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_CLOUDWATCH",
                 "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED",
                 "AWS_EC2_METADATA_V1_DISABLED", "OPSAGENT_PLUGIN_PATH", "OPSAGENT_CONFIG_DIR",
                 "OPSAGENT_STATE_DIR", "OPSAGENT_RUN_DIR",
                 # the SDKs' configuration the AWS layer resolves (agent/aws/session.h)
                 "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE", "AWS_SECURITY_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
                 "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS",
                 "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_ENDPOINT_URL_STS",
                 "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_METADATA_SERVICE_TIMEOUT",
                 "AWS_METADATA_SERVICE_NUM_ATTEMPTS", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_CA_BUNDLE",
                 # the proxy for the AWS endpoints, as curl reads them (agent/aws/http.c, http_proxy_for())
                 "https_proxy", "HTTPS_PROXY", "http_proxy", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"]


def page(name):
    return os.path.join(SRC, "man", name)


def text(name):
    with open(page(name)) as f:
        return f.read()


def lint(path):
    """(exit status, messages) of the linter on PATH."""
    if shutil.which("mandoc"):
        r = subprocess.run(["mandoc", "-Tlint", "-W", "warning", path], capture_output=True, text=True)
        out = [l for l in (r.stdout + r.stderr).splitlines() if "outdated mandoc.db" not in l]
        return r.returncode, "\n".join(out)
    r = subprocess.run(["groff", "-mandoc", "-ww", "-z", path], capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def literal_blocks(src):
    """The contents of every .Bd -literal ... .Ed block, with mdoc's \\e unescaped."""
    blocks = re.findall(r"^\.Bd -literal[^\n]*\n(.*?)^\.Ed$", src, re.S | re.M)
    return [b.replace("\\e", "\\").replace("\\&", "") for b in blocks]


def rendered(name):
    """The page as plain text: mdoc's markup gone, so that "foo.bar" reads as written."""
    r = subprocess.run(["mandoc", "-Tascii", page(name)], capture_output=True, text=True) \
        if shutil.which("mandoc") else \
        subprocess.run(["groff", "-mandoc", "-Tascii", "-P-cbou", page(name)], capture_output=True, text=True)
    return re.sub(r".\x08", "", r.stdout)


@unittest.skipUnless(shutil.which("mandoc") or shutil.which("groff"), "neither mandoc nor groff is installed")
class Lint(unittest.TestCase):
    def test_every_page_is_lint_clean(self):
        for name in PAGES:
            self.assertEqual(lint(page(name)), (0, ""), name)

    def test_lint_catches_a_broken_page(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "opsagent.8")
            with open(bad, "w") as f:
                f.write(text("opsagent.8").replace(".Sh SEE ALSO\n", ".Sh SEE ALSO\n.Xr\n.Bl -tag\n"))
            self.assertNotEqual(lint(bad), (0, ""))

    def test_title_and_section_match_the_file_name(self):
        for name, (title, section) in PAGES.items():
            self.assertIn("\n.Dt %s %s\n" % (title, section), text(name), name)


def rendered_utf8(path):
    """PATH as mandoc -Tutf8 renders it, one paragraph a line (no wrapping), overstrikes gone."""
    r = subprocess.run(["mandoc", "-Tutf8", "-O", "width=1000", path], capture_output=True, text=True)
    return re.sub(r".\x08", "", r.stdout)


def json_snippets(text):
    """Every JSON object the text shows: from each '{"' (or '{}') to its balanced '}', quotes
    respected, whitespace between lines joined; "..." stands for elided values."""
    flat = re.sub(r"\s*\n\s*", " ", text)
    out = []
    for m in re.finditer(r'\{\s*(?="|\})', flat):
        depth, in_str, esc = 0, False, False
        for i in range(m.start(), len(flat)):
            ch = flat[i]
            if in_str:
                esc = not esc and ch == "\\"
                if ch == '"' and not esc:
                    in_str = False
                continue
            if ch == '"':
                in_str = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    out.append(flat[m.start():i + 1])
                    break
        else:
            out.append(flat[m.start():m.start() + 80])   # never closed: broken
    return out


def bad_json(text):
    bad = []
    for snippet in json_snippets(text):
        try:
            json.loads(re.sub(r"(?<![\w\"])\.\.\.(?![\w\"])", "null", snippet))
        except ValueError as e:
            bad.append("%s: %s" % (snippet, e))
    return bad


@unittest.skipUnless(shutil.which("mandoc"), "mandoc is not installed")
class Rendered(unittest.TestCase):
    def test_every_json_example_parses_as_rendered(self):
        # What a reader sees (mandoc -Tutf8), not the source: a quote eaten by a macro
        # ({"daily": 7, weekly: 4}) breaks an example only once rendered.
        n = 0
        for name in PAGES:
            text = rendered_utf8(page(name))
            self.assertEqual(bad_json(text), [], name)
            n += len(json_snippets(text))
        self.assertGreaterEqual(n, 10)

    def test_the_check_catches_an_eaten_quote(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.5")
            with open(bad, "w") as f:
                f.write('.Dd November 23, 2026\n.Dt BAD 5\n.Os\n.Sh NAME\n.Nm bad\n.Nd bad\n.Sh DESCRIPTION\n'
                        '.Li {"daily": 7, "weekly": 4} .\n')
            self.assertEqual(len(bad_json(rendered_utf8(bad))), 1)

    def test_page_headers_name_no_bsd(self):
        # groff's mdoc puts "BSD" before the volume name unless the page says otherwise.
        for name in PAGES:
            for argv in (["mandoc", "-Tutf8"], ["groff", "-mandoc", "-Tutf8"]):
                if not shutil.which(argv[0]):
                    continue
                r = subprocess.run(argv + [page(name)], capture_output=True, text=True)
                head = re.sub(r".\x08", "", r.stdout).splitlines()[0]
                self.assertNotIn("BSD", head, (name, argv[0]))


class Examples(unittest.TestCase):
    def test_json_examples_parse(self):
        n = 0
        for name in PAGES:
            for block in literal_blocks(text(name)):
                if block.lstrip().startswith("{"):
                    json.loads(block)
                    n += 1
        self.assertGreaterEqual(n, 2)

    def test_cfn_init_example_runs_setup(self):
        blocks = [b for b in literal_blocks(text("opsagent.8")) if "AWS::CloudFormation::Init" in b]
        self.assertEqual(len(blocks), 1)
        self.assertIn("command: /usr/bin/opsagent setup", blocks[0])

    @unittest.skipUnless(shutil.which("cc") and shutil.which("pkg-config"), "no C compiler or pkg-config")
    def test_recipe_example_compiles_against_the_sdk(self):
        code = [b for b in literal_blocks(text("opsagent-recipe.3")) if "OPSAGENT_RECIPE_DESCRIPTOR" in b]
        self.assertEqual(len(code), 1)
        cflags = subprocess.run(["pkg-config", "--cflags", "json-c"], capture_output=True,
                                text=True, check=True).stdout.split()
        with tempfile.TemporaryDirectory() as d:
            c = os.path.join(d, "hello.c")
            with open(c, "w") as f:
                f.write(code[0])
            r = subprocess.run(["cc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                                "-I" + os.path.join(SRC, "plugins", "include")] + cflags + [c],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)


class InStep(unittest.TestCase):
    def test_files_section_lists_every_installed_unit(self):
        src = text("opsagent.8")
        units = {"opsagent@.service", "opsagent-report.service", "opsagent-report.timer", "opsagent-logs.service",
                 "opsagent-configure.service", "opsagent-configure.timer"}
        units |= {os.path.basename(p) for p in glob.glob(os.path.join(SRC, "recipes/*/opsagent-*.timer"))}
        units |= {"opsagent@%s.service.d/" % os.path.basename(p)[3:-5]
                  for p in glob.glob(os.path.join(SRC, "packaging/systemd/dropins/50-*.conf"))}
        for u in sorted(units):
            self.assertIn(".It Pa /usr/lib/systemd/system/" + u + "\n", src, u)
        # and nothing listed that the build does not install
        listed = set(re.findall(r"^\.It Pa /usr/lib/systemd/system/(\S+)$", src, re.M))
        self.assertEqual(listed, units)

    def test_environment_lists_every_variable(self):
        env = rendered("opsagent.8").split("ENVIRONMENT", 1)[1].split("FILES", 1)[0]
        for v in AWS_VARIABLES:
            self.assertRegex(env, r"\b%s\b" % v)

    def test_synopsis_has_every_command_of_help(self):
        r = subprocess.run([harness.OPSAGENT, "--help"], env=harness.clean_env(), capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        listing = r.stdout.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
        commands = re.findall(r"(?m)^  (\S+)  ", listing)
        self.assertGreaterEqual(len(commands), 10, listing)
        src = text("opsagent.8")
        synopsis = src.split("\n.Sh SYNOPSIS\n", 1)[1].split("\n.Sh ", 1)[0]
        for c in commands:
            self.assertIn("\n.Cm %s\n" % c, synopsis, "opsagent --help lists %s; the SYNOPSIS of man/opsagent.8 "
                          "has no .Cm %s" % (c, c))

    def test_exit_codes_documented(self):
        status = rendered("opsagent.8").split("EXIT STATUS", 1)[1].split("EXAMPLES", 1)[0]
        for code, word in (("0", "Success"), ("1", "recipe failed"), ("2", "Usage"), ("3", "lock")):
            self.assertRegex(status, r"(?s)\b%s\b\s+.*%s" % (code, word))

    def test_every_recipe_attribute_is_documented(self):
        # The built recipes' shipped defaults, as the agent merges them.
        tmp = tempfile.mkdtemp(prefix="opsagent-man-")
        try:
            os.makedirs(os.path.join(tmp, "etc", "opsagent"))
            r = subprocess.run([harness.OPSAGENT, "--root", tmp, "attributes", "--json"],
                               env=harness.clean_env(), capture_output=True, text=True, timeout=60)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if r.returncode != 0:
            self.skipTest("`opsagent attributes --json` is not available in this build: "
                          + (r.stderr.strip().splitlines() or ["?"])[-1])
        try:
            tree = json.loads(r.stdout)
        except ValueError:
            self.skipTest("`opsagent attributes --json` printed no JSON in this build")
        doc = rendered("opsagent.json.5")
        leaves = []

        def walk(obj, path):
            if isinstance(obj, dict) and obj and not (set(obj) <= {"value", "origin"}):
                for k, v in obj.items():
                    walk(v, path + "." + k if path else k)
            else:
                leaves.append(path)

        if tree and all(isinstance(v, dict) and "value" in v for v in tree.values()):
            leaves = list(tree)          # the flat form: {"key.path": {"value": v, "origin": o}}
        else:
            walk(tree, "")
        missing = []
        for path in leaves:
            if path.startswith(("opsagent.instance", "opsagent.recipes.", "logrotate.sets.")):
                continue                 # facts, recipe names, and the sets' names are not keys
            parts = path.split(".")
            documented = path in doc or (
                re.search(r"\b%s\b" % re.escape(parts[-1]), doc) and parts[0] in doc)
            if not documented:
                missing.append(path)
        self.assertEqual(missing, [], "attributes missing from opsagent.json(5)")


if __name__ == "__main__":
    tap.main()
