// Prints the closing line `.ci/run` looks for: `N passed, N failed`.
import type { FullResult, Reporter, TestCase, TestResult } from "@playwright/test/reporter";

export default class SummaryReporter implements Reporter {
  private passed = 0;
  private failed = 0;
  onTestEnd(test: TestCase, result: TestResult) {
    // Count each test once, by its final outcome.
    if (result.retry < test.retries && result.status !== "passed") return;
    if (result.status === "passed" || result.status === "skipped") this.passed += result.status === "passed" ? 1 : 0;
    else this.failed += 1;
  }
  onEnd(_result: FullResult) {
    console.log(`browser tests: ${this.passed} passed, ${this.failed} failed`);
  }
}
