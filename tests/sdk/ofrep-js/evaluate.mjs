// Evaluates flags the way an application would: the OpenFeature server SDK with its OFREP provider,
// pointed at FLOTILLA_FLAGS_URL. Prints one JSON line of evaluation details per request.
//   node evaluate.mjs '[{"flag": "new-pricing", "type": "boolean", "default": false, "context": {"targetingKey": "u1"}}]'
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const baseUrl = process.env.FLOTILLA_FLAGS_URL;
if (!baseUrl) {
  console.error('FLOTILLA_FLAGS_URL is not set');
  process.exit(2);
}
await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl }));
const client = OpenFeature.getClient();
const methods = { boolean: 'getBooleanDetails', string: 'getStringDetails', number: 'getNumberDetails', object: 'getObjectDetails' };
for (const request of JSON.parse(process.argv[2])) {
  const details = await client[methods[request.type]](request.flag, request.default, request.context ?? {});
  console.log(JSON.stringify({ flag: request.flag, value: details.value, variant: details.variant ?? null, reason: details.reason, errorCode: details.errorCode ?? null }));
}
await OpenFeature.close();
