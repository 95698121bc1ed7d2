"""Run a module's unittest tests and report them as TAP, for automake's tap-driver.

Usage at the bottom of a test file:

    if __name__ == "__main__":
        tap.main()

Each test method is one TAP line; skips are "ok N - name # SKIP reason" so that the
reason reaches the test log and the summary.
"""
import sys
import traceback
import unittest


class _TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0
        self.lines = []

    def _emit(self, line, detail=None):
        self.n += 1
        print(line.format(n=self.n), flush=True)
        if detail:
            for dl in detail.rstrip().splitlines():
                print("# " + dl, flush=True)

    @staticmethod
    def _name(test):
        return test.id().split(".", 1)[-1]

    def addSuccess(self, test):
        super().addSuccess(test)
        self._emit("ok {n} - " + self._name(test))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._emit("not ok {n} - " + self._name(test), "".join(traceback.format_exception(*err)))

    def addError(self, test, err):
        super().addError(test, err)
        self._emit("not ok {n} - " + self._name(test) + " (error)",
                   "".join(traceback.format_exception(*err)))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._emit("ok {n} - " + self._name(test) + " # SKIP " + reason.replace("#", ""))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._emit("ok {n} - " + self._name(test) + " # TODO expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._emit("not ok {n} - " + self._name(test) + " # unexpected success")


def main(module="__main__"):
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromModule(sys.modules[module])
    count = suite.countTestCases()
    print("1..%d" % count, flush=True)
    result = _TapResult()
    suite.run(result)
    # unittest's module/class fixtures report errors outside any test: surface them too.
    missing = count - result.n
    for i in range(missing):
        result._emit("not ok {n} - test did not run (fixture error)")
    sys.exit(0 if result.wasSuccessful() and missing == 0 else 1)
