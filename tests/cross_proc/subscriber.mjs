// A channel subscriber driven by environment variables: the Node side of the
// cross-language, cross-process channel test (see channels.py next to it).
// Prints `RESULT node refused-wrong-token <count> in order` once it has every
// message in order, then stays connected until its standard input closes.
import { ChannelUnauthorizedError, Mesh, PermissionToken } from '../../sdk-ts/dist/src/index.js';

const env = (name) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const token = (name) => PermissionToken.fromBytes(Buffer.from(env(name), 'hex'));

async function run() {
  const mesh = await Mesh.bind({
    networkKey: env('XPROC_NETWORK_KEY'),
    seed: env('XPROC_SEED'),
    bind: '127.0.0.1:0',
  });
  await mesh.connect(env('XPROC_ADDR'), env('XPROC_PUBLIC_KEY'));
  const publisher = BigInt(env('XPROC_PUBLISHER'));
  const channel = env('XPROC_CHANNEL');
  const count = Number(env('XPROC_COUNT'));
  try {
    await mesh.subscribe(publisher, channel, { tokens: [token('XPROC_WRONG_TOKEN')] });
    throw new Error("another's grant was accepted");
  } catch (e) {
    if (!(e instanceof ChannelUnauthorizedError)) throw new Error(`another's grant: ${e} (wanted channel:unauthorized)`);
  }
  const sub = await mesh.subscribe(publisher, channel, { tokens: [token('XPROC_TOKEN')] });
  for (let i = 0; i < count; i++) {
    const m = await sub.next({ timeoutMs: 60_000 });
    if (m === null) throw new Error(`no message ${i} within a minute`);
    const want = `reading ${i}: 21.5 °C ✓`;
    if (m.payload.toString('utf8') !== want) throw new Error(`message ${i} was ${JSON.stringify(m.payload.toString())}`);
  }
  console.log(`RESULT node refused-wrong-token ${count} in order`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on('end', resolve));
  sub.close();
  await mesh.close();
}

run().catch((e) => {
  console.log(`RESULT node failed: ${e?.stack ?? e}`);
  process.exit(1);
});
