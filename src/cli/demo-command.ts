/** `airlock demo`: an embedded shop database behind the gateway, with a token ready to paste. */
import type { Command } from 'commander';

/** Registers `airlock demo` on the program. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run an embedded PostgreSQL (PGlite) with a shop schema behind the gateway and print a psql command',
    )
    .option('--dir <path>', 'where the demo keeps its config and token store', '.airlock/demo')
    .option('--port <port>', 'gateway port (falls back to a free one if busy)', '6432')
    .option('--http-port <port>', 'HTTP API port (falls back to a free one if busy)', '6480')
    .option('--log-level <level>', 'gateway log level (logs go to stderr)', 'warn')
    .option('--check', 'run one query through the gateway with the demo token, print the result and exit')
    .action(
      async (options: { dir: string; port: string; httpPort: string; logLevel: string; check?: boolean }) => {
        // Loaded here, not at the top: PGlite is large, and every other command would pay for it.
        const { startDemo } = await import('../demo/run-demo.js');
        const demo = await startDemo({
          dir: options.dir,
          port: Number(options.port),
          httpPort: Number(options.httpPort),
          logLevel: options.logLevel,
          out: process.stdout,
        });
        if (options.check) {
          try {
            const counts = await demo.selfCheck();
            process.stdout.write(
              `self-check through the gateway: ${counts.customers} customers, ${counts.orders} orders; ${
                counts.auditSeq === null
                  ? 'NOT found in the audit trail'
                  : `audit record seq ${counts.auditSeq}`
              }\n`,
            );
            const { email, ssn } = counts.masked;
            const masked = email.startsWith('****@') && ssn === '[redacted]';
            process.stdout.write(
              `masked as the agent sees it: ${masked ? `email ${email}, ssn ${ssn}` : 'NOT MASKED'}\n`,
            );
            const { approval } = counts;
            const approved = approval.id !== null && approval.heldUntilApproved && approval.ran !== null;
            process.stdout.write(
              `approval: ${
                approved
                  ? `delete held as ${approval.id} until demo-reviewer approved it, then ran (${approval.ran})`
                  : `NOT HELD FOR APPROVAL (${JSON.stringify(approval)})`
              }\n`,
            );
            if (counts.auditSeq === null || !masked || !approved) process.exitCode = 1;
          } finally {
            await demo.close();
          }
          return;
        }
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            process.stdout.write('\nstopping the demo…\n');
            demo.close().then(resolve, resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      },
    );
}
