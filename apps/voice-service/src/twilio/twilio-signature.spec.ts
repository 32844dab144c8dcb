import { isValidTwilioSignature, parseForm, twilioSignature } from './twilio-signature';

/**
 * The worked example of Twilio's "Validating requests" documentation
 * (twilio.com/docs/usage/security#validating-requests): auth token 12345, this
 * URL and these POST parameters must give exactly the documented signature.
 */
const DOC_URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const DOC_TOKEN = '12345';
const DOC_PARAMS = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+12349013030',
  Digits: '1234',
  From: '+12349013030',
  To: '+18005551212',
};
const DOC_SIGNATURE = '0/KCTR6DLpKmkAf8muzZqo1nDgQ=';

describe('X-Twilio-Signature', () => {
  it("reproduces the worked example of Twilio's documentation", () => {
    expect(twilioSignature(DOC_TOKEN, DOC_URL, DOC_PARAMS)).toBe(DOC_SIGNATURE);
  });

  it('validates the documented request from its form-encoded body, in any parameter order', () => {
    const body = 'To=%2B18005551212&Digits=1234&From=%2B12349013030&CallSid=CA1234567890ABCDE&Caller=%2B12349013030';
    expect(isValidTwilioSignature(DOC_TOKEN, DOC_URL, parseForm(Buffer.from(body)), DOC_SIGNATURE)).toBe(true);
  });

  it('rejects a changed parameter, URL, token or a missing signature', () => {
    const form = parseForm(new URLSearchParams(DOC_PARAMS).toString());
    expect(isValidTwilioSignature(DOC_TOKEN, DOC_URL.replace('foo=1', 'foo=2'), form, DOC_SIGNATURE)).toBe(false);
    expect(isValidTwilioSignature('54321', DOC_URL, form, DOC_SIGNATURE)).toBe(false);
    const tampered = form.map(([k, v]) => [k, k === 'Digits' ? '9999' : v] as [string, string]);
    expect(isValidTwilioSignature(DOC_TOKEN, DOC_URL, tampered, DOC_SIGNATURE)).toBe(false);
    expect(isValidTwilioSignature(DOC_TOKEN, DOC_URL, form, undefined)).toBe(false);
  });

  it("accepts the URL with or without the scheme's default port, as Twilio's libraries do", () => {
    const form = parseForm(new URLSearchParams(DOC_PARAMS).toString());
    const withPort = twilioSignature(DOC_TOKEN, 'https://mycompany.com:443/myapp.php?foo=1&bar=2', DOC_PARAMS);
    expect(isValidTwilioSignature(DOC_TOKEN, DOC_URL, form, withPort)).toBe(true);
    expect(
      isValidTwilioSignature(DOC_TOKEN, 'https://mycompany.com:443/myapp.php?foo=1&bar=2', form, DOC_SIGNATURE),
    ).toBe(true);
    expect(
      isValidTwilioSignature(DOC_TOKEN, 'https://mycompany.com:8443/myapp.php?foo=1&bar=2', form, DOC_SIGNATURE),
    ).toBe(false);
  });
});
