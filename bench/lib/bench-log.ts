/** What every bench script shares: progress lines on stderr and the stack of things to stop on exit. */

export function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Steps that stop what a bench started, run newest first. */
export const cleanups: Array<() => Promise<void>> = [];

export async function cleanup(): Promise<void> {
  for (const step of cleanups.splice(0).reverse())
    await step().catch((error) => log(`cleanup: ${message(error)}`));
}
