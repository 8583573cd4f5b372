import { randomUUID } from 'node:crypto';
import type { XMLBuilder } from 'fast-xml-parser';
import type { SignedXml as SignedXmlClass } from 'xml-crypto';

/** What a SAML 2.0 bearer assertion (RFC 7522) says; values are filled in already. */
export interface SamlAssertionInput {
  issuer: string;
  audience: string;
  /** The user the assertion is about (`NameID`). */
  subject: string;
  /** The token endpoint the assertion is for (`SubjectConfirmationData/@Recipient`). */
  recipient: string;
  sessionIndex: string;
  attributes: Record<string, string>;
  lifetimeSeconds: number;
  /** Epoch milliseconds. */
  now: number;
  /** PEM private key (RSA). */
  privateKey: string;
}

/**
 * fast-xml-parser and xml-crypto are loaded on the first assertion signed (~60 ms to import
 * together): only SAML-bearer providers need them.
 */
let libraries: Promise<{ builder: XMLBuilder; SignedXml: typeof SignedXmlClass }> | undefined;
const loadLibraries = () =>
  (libraries ??= Promise.all([import('fast-xml-parser'), import('xml-crypto')]).then(
    ([{ XMLBuilder }, { SignedXml }]) => ({
      builder: new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', suppressEmptyNode: true }),
      SignedXml,
    }),
  ));
const ASSERTION = "/*[local-name(.)='Assertion']";

/**
 * A signed SAML 2.0 assertion for the `urn:ietf:params:oauth:grant-type:saml2-bearer` grant
 * (SAP SuccessFactors), base64-encoded as the grant wants it. Signed with xml-crypto: enveloped
 * RSA-SHA256 over exclusive canonical XML, placed after `Issuer` as the SAML schema requires.
 */
export async function signSamlAssertion(input: SamlAssertionInput): Promise<string> {
  const { builder, SignedXml } = await loadLibraries();
  const issued = new Date(input.now).toISOString();
  const expires = new Date(input.now + input.lifetimeSeconds * 1000).toISOString();
  const xml = builder.build({
    'saml2:Assertion': {
      '@xmlns:saml2': 'urn:oasis:names:tc:SAML:2.0:assertion',
      '@ID': `_${randomUUID()}`,
      '@IssueInstant': issued,
      '@Version': '2.0',
      'saml2:Issuer': input.issuer,
      'saml2:Subject': {
        'saml2:NameID': { '@Format': 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified', '#text': input.subject },
        'saml2:SubjectConfirmation': {
          '@Method': 'urn:oasis:names:tc:SAML:2.0:cm:bearer',
          'saml2:SubjectConfirmationData': { '@NotOnOrAfter': expires, '@Recipient': input.recipient, '#text': '' },
        },
      },
      'saml2:Conditions': {
        '@NotBefore': issued,
        '@NotOnOrAfter': expires,
        'saml2:AudienceRestriction': { 'saml2:Audience': input.audience },
      },
      'saml2:AuthnStatement': {
        '@AuthnInstant': issued,
        '@SessionIndex': input.sessionIndex,
        'saml2:AuthnContext': {
          'saml2:AuthnContextClassRef': 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
        },
      },
      'saml2:AttributeStatement': {
        'saml2:Attribute': Object.entries(input.attributes).map(([name, value]) => ({
          '@Name': name,
          'saml2:AttributeValue': value,
        })),
      },
    },
  }) as string;
  const signer = new SignedXml({
    privateKey: input.privateKey,
    idAttribute: 'ID',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  });
  signer.addReference({
    xpath: ASSERTION,
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
  });
  signer.computeSignature(xml, { location: { reference: `${ASSERTION}/*[local-name(.)='Issuer']`, action: 'after' } });
  return Buffer.from(signer.getSignedXml(), 'utf8').toString('base64');
}
