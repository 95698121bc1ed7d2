"""Shared by the tests of the CloudFormation examples under packaging/: cfn-lint, run as the
command is, and the two checks every template gets (it passes, and a broken copy of it does
not, so that the first check can fail)."""
import os
import shutil
import subprocess
import sys
import tempfile

PYTHON = os.environ.get("PYTHON", sys.executable)
CFN_LINT = [PYTHON, "-c", "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())"]

try:
    import cfnlint.decode
    HAVE_CFNLINT = True
except ImportError:
    cfnlint = None
    HAVE_CFNLINT = False


def cfn_lint(path):
    return subprocess.run(CFN_LINT + [path], capture_output=True, text=True, timeout=120)


class TemplateChecks:
    """A mixin for a unittest.TestCase: TEMPLATE, the template's path, and BREAK, a pair (a
    text of the template, the same made invalid) for the check that cfn-lint can fail. setUp
    decodes the template into self.tpl."""

    TEMPLATE = None
    BREAK = None

    def setUp(self):
        tpl, matches = cfnlint.decode.decode(self.TEMPLATE)
        self.assertFalse(matches, matches)
        self.tpl = tpl

    def test_passes_cfn_lint(self):
        r = cfn_lint(self.TEMPLATE)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_cfn_lint_can_fail(self):
        good, bad_text = self.BREAK
        with open(self.TEMPLATE) as f:
            text = f.read()
        self.assertIn(good, text)
        d = tempfile.mkdtemp()
        try:
            bad = os.path.join(d, "bad.yaml")
            with open(bad, "w") as f:
                f.write(text.replace(good, bad_text, 1))
            r = cfn_lint(bad)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(bad_text.split(": ", 1)[-1], r.stdout + r.stderr)
        finally:
            shutil.rmtree(d)
