/**
 * Run by test/runtimes.test.ts in Deno on a terminal, with no permission to read the
 * environment: verifies the archive at the path it is given through the portable entry and
 * prints its index. Deno must not stop to ask for RAFTSNAP_ENGINE.
 */
import { verify } from 'raftsnap/portable';

declare const Deno: { args: string[]; readFile(path: string): Promise<Uint8Array> };

const bytes = await Deno.readFile(Deno.args[0]);
console.log(`index ${(await verify(bytes)).index}`);
