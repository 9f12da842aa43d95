/** Shared helpers of the lab tests (not a test file). */
import type { LabOptions } from "../../scripts/lab/lab";
import { Lab, labPrerequisiteProblems } from "../../scripts/lab/lab";
import { randomLabName } from "../../scripts/lab/naming";

/** A fresh lab name for one suite (`t` + 6 random hex digits), so runs never share a lab. */
export function newLabName(): string {
    return randomLabName("t");
}

/** Skips the suite (with the reason printed) when the lab cannot run here. */
export function skipUnlessLabCanRun(context: Mocha.Context): void {
    const problems = labPrerequisiteProblems();
    if (problems.length > 0) {
        console.log(`    (lab tests skipped: ${problems.join("; ")})`);
        context.skip();
    }
}

/** Brings the lab `name` up; progress goes to stderr when LAB_VERBOSE is set. */
export function upLab(name: string, options: Omit<LabOptions, "name"> = {}): Promise<Lab> {
    const log = process.env.LAB_VERBOSE ? (message: string) => console.error(`      lab ${name}: ${message}`) : undefined;
    return Lab.up({ log, ...options, name });
}

/** Removes the lab `name`; used by every `after` hook so nothing is left even when a test failed. */
export async function downLab(name: string): Promise<void> {
    if (labPrerequisiteProblems().length === 0) {
        await Lab.down({ name });
    }
}

/** Runs `check` for `durationMs`, every `intervalMs`, and fails on the first false. */
export async function holdsFor(what: string, check: () => Promise<boolean>, durationMs: number, intervalMs = 500): Promise<void> {
    const end = Date.now() + durationMs;
    let rounds = 0;
    while (Date.now() < end) {
        rounds += 1;
        if (!(await check())) {
            throw new Error(`${what} stopped holding in round ${rounds}`);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
}
