import {
  checkAddress,
  checkBirthDate,
  checkCountry,
  checkCustomFieldKey,
  checkCustomFieldValue,
  checkDecimal,
  checkEmail,
  checkMetadata,
  checkPhone,
  checkText,
  checkUrl,
  gravatarUrl,
  LIMITS,
  Problems,
} from '../src/services/validation';
import type { FieldError } from '../src/services/validation';

/** Runs one checker against a fresh collector and returns what it produced and reported. */
function run<T>(check: (problems: Problems) => T): { value: T; errors: FieldError[] } {
  const problems = new Problems();
  const value = check(problems);
  return { value, errors: problems.list };
}

/** The (field, code) pairs reported, for comparing without the human-readable wording. */
function codes(errors: FieldError[]): Array<[string[] | null, string]> {
  return errors.map((error) => [error.field, error.code]);
}

const PATH = ['field'];

describe('Problems', () => {
  it('starts empty and keeps every added problem in order', () => {
    const problems = new Problems();
    expect(problems.empty).toBe(true);
    problems.add(['email'], 'TAKEN', 'is taken');
    problems.add(null, 'VERSION_CONFLICT', 'was changed');
    expect(problems.empty).toBe(false);
    expect(problems.list).toEqual([
      { field: ['email'], code: 'TAKEN', message: 'is taken' },
      { field: null, code: 'VERSION_CONFLICT', message: 'was changed' },
    ]);
  });
});

describe('checkText', () => {
  it('trims and keeps inner line breaks and tabs', () => {
    expect(run((p) => checkText('  line one\n\tline two \r\n', 100, PATH, p))).toEqual({
      value: 'line one\n\tline two',
      errors: [],
    });
  });

  it('turns a blank value into null (a cleared value) without a problem', () => {
    expect(run((p) => checkText(' \n ', 100, PATH, p))).toEqual({ value: null, errors: [] });
  });

  it('counts characters, not UTF-16 units', () => {
    expect(run((p) => checkText('😀😀😀', 3, PATH, p)).value).toBe('😀😀😀');
    expect(run((p) => checkText('😀😀😀😀', 3, PATH, p))).toEqual({
      value: undefined,
      errors: [{ field: PATH, code: 'TOO_LONG', message: 'must be at most 3 characters' }],
    });
  });

  it.each(['bell\u0007', 'nul\u0000byte', 'del\u007F', 'c1\u0085'])('rejects control characters in %j', (text) => {
    const { value, errors } = run((p) => checkText(text, 100, PATH, p));
    expect(value).toBeUndefined();
    expect(codes(errors)).toEqual([[PATH, 'INVALID']]);
  });
});

describe('checkEmail', () => {
  it('trims and lower-cases', () => {
    expect(run((p) => checkEmail('  Ada.Lovelace+news@Example.CO.uk ', PATH, p))).toEqual({
      value: 'ada.lovelace+news@example.co.uk',
      errors: [],
    });
  });

  it.each(['o\'brien@example.com', 'ada@mail-1.example.com', 'ada@example.xn--p1ai', 'zoë@example.com'])(
    'accepts %s',
    (email) => expect(run((p) => checkEmail(email, PATH, p))).toEqual({ value: email, errors: [] }),
  );

  it('requires a non-blank value', () => {
    expect(codes(run((p) => checkEmail('   ', PATH, p)).errors)).toEqual([[PATH, 'REQUIRED']]);
  });

  it('rejects more than 254 characters as TOO_LONG', () => {
    const email = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.com`;
    expect(email.length).toBe(255);
    expect(codes(run((p) => checkEmail(email, PATH, p)).errors)).toEqual([[PATH, 'TOO_LONG']]);
  });

  it.each([
    'ada',
    '@example.com',
    'ada@',
    'ada@@example.com',
    'ada@home@example.com',
    'ada@example',
    'ada@.example.com',
    'ada@-example.com',
    'ada@example-.com',
    'ada@example..com',
    'ada@example.c',
    'ada@example.123',
    'ada lovelace@example.com',
    'ada@exa mple.com',
    '.ada@example.com',
    'ada.@example.com',
    'ada..lovelace@example.com',
    `${'a'.repeat(65)}@example.com`,
  ])('rejects %j as INVALID', (email) => {
    expect(run((p) => checkEmail(email, PATH, p))).toEqual({
      value: undefined,
      errors: [{ field: PATH, code: 'INVALID', message: 'is not a valid email address' }],
    });
  });
});

describe('checkPhone', () => {
  it('reads a national number in the default country and stores E.164', () => {
    expect(run((p) => checkPhone('(415) 555-0132', 'US', PATH, p))).toEqual({
      value: { phone: '+14155550132', country: 'US' },
      errors: [],
    });
  });

  it('takes the country from an international number over the default', () => {
    expect(run((p) => checkPhone(' +44 20 7946 0958 ', 'US', PATH, p)).value).toEqual({
      phone: '+442079460958',
      country: 'GB',
    });
  });

  it('needs no default country for an international number', () => {
    expect(run((p) => checkPhone('+1 415-555-2671', null, PATH, p)).value).toEqual({
      phone: '+14155552671',
      country: 'US',
    });
  });

  it.each(['555-555-5555', '12', 'call me', ''])('rejects %j as INVALID', (phone) => {
    expect(run((p) => checkPhone(phone, 'US', PATH, p))).toEqual({
      value: undefined,
      errors: [{ field: PATH, code: 'INVALID', message: 'is not a valid phone number' }],
    });
  });

  it.each([null, 'AQ'])('asks for a country code when the default country (%s) cannot supply one', (country) => {
    const { value, errors } = run((p) => checkPhone('415-555-2671', country, PATH, p));
    expect(value).toBeUndefined();
    expect(codes(errors)).toEqual([[PATH, 'INVALID']]);
    expect(errors[0].message).toBe(
      'is not a valid phone number; include the country code (like +1) or set a billing address country',
    );
  });

  it('rejects an extension, which E.164 cannot hold', () => {
    const { errors } = run((p) => checkPhone('+1 415 555 2671 ext. 5', null, PATH, p));
    expect(errors).toEqual([{ field: PATH, code: 'INVALID', message: 'must not include an extension' }]);
  });

  it('rejects more than 64 characters as TOO_LONG', () => {
    expect(codes(run((p) => checkPhone('+1 415 555 2671'.padEnd(65, ' 0'), 'US', PATH, p)).errors)).toEqual([
      [PATH, 'TOO_LONG'],
    ]);
  });
});

describe('checkCountry', () => {
  it.each([
    ['US', 'US'],
    ['us', 'US'],
    [' usa ', 'US'],
    ['GBR', 'GB'],
    ['de', 'DE'],
  ])('reads %j as %s', (input, alpha2) => {
    expect(run((p) => checkCountry(input, PATH, p))).toEqual({ value: alpha2, errors: [] });
  });

  it('requires a non-blank value', () => {
    expect(codes(run((p) => checkCountry(' ', PATH, p)).errors)).toEqual([[PATH, 'REQUIRED']]);
  });

  it.each(['XX', 'UK', 'ZZZ', 'U', 'United States', '840'])('rejects %j as INVALID', (input) => {
    expect(run((p) => checkCountry(input, PATH, p))).toEqual({
      value: undefined,
      errors: [{ field: PATH, code: 'INVALID', message: 'is not an ISO 3166-1 country code' }],
    });
  });
});

describe('checkAddress', () => {
  const path = ['billingAddress'];

  it('accepts US-WI and stores WI, trimming the text fields', () => {
    const input = { line1: ' 1 Main St ', city: 'Madison', state: 'US-WI', postalCode: '53703 ', country: 'us' };
    expect(run((p) => checkAddress(input, path, p))).toEqual({
      value: { line1: '1 Main St', line2: null, city: 'Madison', state: 'WI', postalCode: '53703', country: 'US' },
      errors: [],
    });
  });

  it.each([
    ['US', 'wi', 'WI'],
    ['USA', 'us-ca', 'CA'],
    ['GB', 'GB-ENG', 'ENG'],
    ['AZ', 'AZ-BAB', 'BAB'],
  ])('accepts a subdivision of %s given as %j and stores %s', (country, state, stored) => {
    expect(run((p) => checkAddress({ country, state }, path, p)).value?.state).toBe(stored);
  });

  it.each(['ZZ', 'CA-ON', 'Wisconsin'])('rejects %j as a US state', (state) => {
    expect(run((p) => checkAddress({ country: 'US', state }, path, p))).toEqual({
      value: undefined,
      errors: [{ field: ['billingAddress', 'state'], code: 'INVALID', message: 'is not a subdivision of US' }],
    });
  });

  it('keeps the state as free text where the country has no subdivisions in the data', () => {
    expect(run((p) => checkAddress({ country: 'HK', state: ' Kowloon ', line2: '  ' }, path, p))).toEqual({
      value: { line1: null, line2: null, city: null, state: 'Kowloon', postalCode: null, country: 'HK' },
      errors: [],
    });
  });

  it('requires a country', () => {
    expect(codes(run((p) => checkAddress({ country: '' }, path, p)).errors)).toEqual([
      [['billingAddress', 'country'], 'REQUIRED'],
    ]);
  });

  it('reports every bad sub-field at once', () => {
    const input = { line1: 'x'.repeat(LIMITS.shortText + 1), city: 'Bad\u0000City', state: 'WI', country: 'XX' };
    expect(run((p) => checkAddress(input, path, p))).toEqual({
      value: undefined,
      errors: [
        { field: ['billingAddress', 'country'], code: 'INVALID', message: 'is not an ISO 3166-1 country code' },
        { field: ['billingAddress', 'line1'], code: 'TOO_LONG', message: 'must be at most 256 characters' },
        { field: ['billingAddress', 'city'], code: 'INVALID', message: 'must not contain control characters' },
      ],
    });
  });
});

describe('checkUrl', () => {
  it('keeps a valid http(s) URL as typed, trimmed', () => {
    expect(run((p) => checkUrl(' https://Example.com ', PATH, p))).toEqual({ value: 'https://Example.com', errors: [] });
    expect(run((p) => checkUrl('http://localhost:3000/a?b=c#d', PATH, p)).value).toBe('http://localhost:3000/a?b=c#d');
  });

  it('turns a blank value into null', () => {
    expect(run((p) => checkUrl('  ', PATH, p))).toEqual({ value: null, errors: [] });
  });

  it.each(['example.com', '/relative/path', 'ftp://example.com', 'javascript:alert(1)', 'https://exa mple.com', 'http://exa\nmple.com'])(
    'rejects %j as INVALID',
    (url) => {
      expect(run((p) => checkUrl(url, PATH, p))).toEqual({
        value: undefined,
        errors: [{ field: PATH, code: 'INVALID', message: 'must be an absolute http(s) URL' }],
      });
    },
  );

  it('rejects more than 2048 characters as TOO_LONG', () => {
    const url = `https://example.com/${'a'.repeat(LIMITS.url)}`;
    expect(codes(run((p) => checkUrl(url, PATH, p)).errors)).toEqual([[PATH, 'TOO_LONG']]);
  });
});

describe('checkBirthDate', () => {
  it.each(['1990-02-28', '2024-02-29', '1900-01-01'])('accepts %s', (date) => {
    expect(run((p) => checkBirthDate(date, PATH, p))).toEqual({ value: date, errors: [] });
  });

  it('accepts today', () => {
    const today = new Date().toISOString().slice(0, 10);
    expect(run((p) => checkBirthDate(today, PATH, p)).value).toBe(today);
  });

  it.each([
    ['2023-02-29', 'must be a real date in YYYY-MM-DD format'],
    ['1990-13-01', 'must be a real date in YYYY-MM-DD format'],
    ['1990-1-1', 'must be a real date in YYYY-MM-DD format'],
    ['2999-01-01', 'must not be in the future'],
    ['1899-12-31', 'must not be before 1900-01-01'],
  ])('rejects %s: %s', (date, message) => {
    expect(run((p) => checkBirthDate(date, PATH, p))).toEqual({
      value: undefined,
      errors: [{ field: PATH, code: 'INVALID', message }],
    });
  });
});

describe('checkMetadata', () => {
  it('accepts strings, numbers and booleans unchanged', () => {
    const metadata = { plan: 'pro', seats: 12, ratio: -0.5, trial: false, note: '' };
    expect(run((p) => checkMetadata(metadata, ['metadata'], p))).toEqual({ value: metadata, errors: [] });
  });

  it('keeps a "__proto__" key as data', () => {
    const { value } = run((p) => checkMetadata(JSON.parse('{"__proto__": "x"}') as Record<string, unknown>, [], p));
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value ?? {})).toEqual(['__proto__']);
  });

  it('reports every bad key at once', () => {
    const longKey = 'k'.repeat(LIMITS.metadataKeyLength + 1);
    const metadata = {
      fine: 'ok',
      '': 1,
      [longKey]: 1,
      long: 'v'.repeat(LIMITS.metadataValueLength + 1),
      nested: {},
      list: [],
      nothing: null,
      infinite: Infinity,
    };
    const { value, errors } = run((p) => checkMetadata(metadata, ['metadata'], p));
    expect(value).toBeUndefined();
    expect(codes(errors)).toEqual([
      [['metadata', ''], 'INVALID'],
      [['metadata', longKey], 'TOO_LONG'],
      [['metadata', 'long'], 'TOO_LONG'],
      [['metadata', 'nested'], 'INVALID'],
      [['metadata', 'list'], 'INVALID'],
      [['metadata', 'nothing'], 'INVALID'],
      [['metadata', 'infinite'], 'INVALID'],
    ]);
    expect(errors[3].message).toBe('metadata values must be strings, numbers or booleans');
  });

  it('allows 50 keys and rejects 51 as LIMIT_EXCEEDED', () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(run((p) => checkMetadata(keys(50), ['metadata'], p)).errors).toEqual([]);
    expect(run((p) => checkMetadata(keys(51), ['metadata'], p))).toEqual({
      value: undefined,
      errors: [{ field: ['metadata'], code: 'LIMIT_EXCEEDED', message: 'must have at most 50 keys' }],
    });
  });

  it('rejects a value that is not an object', () => {
    const notObject = ['a'] as unknown as Record<string, unknown>;
    expect(codes(run((p) => checkMetadata(notObject, ['metadata'], p)).errors)).toEqual([[['metadata'], 'INVALID']]);
  });
});

describe('checkCustomFieldKey', () => {
  it.each(['tier', 'loyalty_tier_2', 'k'.repeat(LIMITS.customFieldKey)])('accepts %s', (key) => {
    expect(run((p) => checkCustomFieldKey(key, PATH, p))).toEqual({ value: key, errors: [] });
  });

  it.each(['', 'Tier', '2fa', '_tier', 'loyalty-tier', 'tier '])('rejects %j as INVALID', (key) => {
    expect(codes(run((p) => checkCustomFieldKey(key, PATH, p)).errors)).toEqual([[PATH, 'INVALID']]);
  });

  it('rejects more than 40 characters as TOO_LONG', () => {
    const key = 'k'.repeat(LIMITS.customFieldKey + 1);
    expect(run((p) => checkCustomFieldKey(key, PATH, p)).errors).toEqual([
      { field: PATH, code: 'TOO_LONG', message: 'must be at most 40 characters' },
    ]);
  });
});

describe('checkCustomFieldValue', () => {
  it.each([
    ['STRING', 'gold'],
    ['NUMBER', 3.5],
    ['NUMBER', 0],
    ['BOOLEAN', false],
    ['DATE', '2024-02-29'],
  ] as const)('accepts a %s value %p', (valueType, value) => {
    expect(run((p) => checkCustomFieldValue(valueType, value, PATH, p))).toEqual({ value, errors: [] });
  });

  it.each([
    ['NUMBER', '3', 'must be a NUMBER'],
    ['NUMBER', NaN, 'must be a NUMBER'],
    ['BOOLEAN', 'true', 'must be a BOOLEAN'],
    ['STRING', 5, 'must be a STRING'],
    ['STRING', null, 'must be a STRING'],
    ['DATE', '2023-02-30', 'must be a DATE (a real date in YYYY-MM-DD format)'],
    ['DATE', 20240101, 'must be a DATE (a real date in YYYY-MM-DD format)'],
  ] as const)('rejects a %s value %p: %s', (valueType, value, message) => {
    expect(run((p) => checkCustomFieldValue(valueType, value, PATH, p))).toEqual({
      value: undefined,
      errors: [{ field: PATH, code: 'INVALID', message }],
    });
  });

  it('rejects a STRING longer than 10000 characters as TOO_LONG', () => {
    const value = 's'.repeat(LIMITS.customFieldString + 1);
    expect(codes(run((p) => checkCustomFieldValue('STRING', value, PATH, p)).errors)).toEqual([[PATH, 'TOO_LONG']]);
  });
});

describe('checkDecimal', () => {
  it.each([
    ['123.45', '123.45'],
    ['+3', '3'],
    ['-3', '-3'],
    [' 42 ', '42'],
    ['007.50', '7.50'],
    ['0.001', '0.001'],
    ['-0.00', '0.00'],
    [`${'9'.repeat(18)}.${'9'.repeat(6)}`, `${'9'.repeat(18)}.${'9'.repeat(6)}`],
  ])('normalises %j to %s', (input, normalised) => {
    expect(run((p) => checkDecimal(input, PATH, p))).toEqual({ value: normalised, errors: [] });
  });

  it.each(['', 'abc', '1e3', '.5', '5.', '1,000', '--1', '1.1234567', '1'.repeat(19), 'NaN'])(
    'rejects %j as INVALID',
    (input) => {
      expect(codes(run((p) => checkDecimal(input, PATH, p)).errors)).toEqual([[PATH, 'INVALID']]);
    },
  );
});

describe('gravatarUrl', () => {
  it('hashes the trimmed, lower-cased email with SHA-256 and asks for a 404 when there is no avatar', () => {
    const expected =
      'https://www.gravatar.com/avatar/b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72?d=404';
    expect(gravatarUrl('ada@example.com')).toBe(expected);
    expect(gravatarUrl('  Ada@Example.COM ')).toBe(expected);
  });
});
