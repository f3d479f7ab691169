// Passes standard input through unchanged and appends each line, prefixed with the time in ms,
// to the file named by argv[2], so .ci/run can say afterwards where its time went.
import fs from 'node:fs';
import readline from 'node:readline';

const fd = fs.openSync(process.argv[2], 'w');
fs.writeSync(fd, `${Date.now()} (start)\n`);
for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  process.stdout.write(`${line}\n`);
  fs.writeSync(fd, `${Date.now()} ${line}\n`);
}
fs.writeSync(fd, `${Date.now()} (end)\n`);
fs.closeSync(fd);
