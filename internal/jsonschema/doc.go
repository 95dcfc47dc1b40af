// Package jsonschema describes Go types with JSON Schema (draft 07, the
// default schema format of AsyncAPI), as encoding/json writes and reads
// them and as validator (v10, WithRequiredStructEnabled) checks them.
//
//	res := jsonschema.Generate(jsonschema.Options{RefPrefix: "#/components/schemas/"},
//		jsonschema.Root{Type: reflect.TypeFor[ChatRequest](), Mode: jsonschema.Input},
//		jsonschema.Root{Type: reflect.TypeFor[ChatMessage](), Mode: jsonschema.Output})
//	// res.Schemas[0] is {"$ref":"#/components/schemas/ChatRequest"};
//	// res.Definitions holds ChatRequest, ChatMessage and what they share.
//
// # Types
//
// Properties carry the JSON names of the fields (the json tag's name, or
// the Go name); fields tagged json:"-" and unexported fields are left out.
// Embedded structs are flattened as encoding/json does: a name found at a
// shallower depth wins, then one given by a json tag; two at the same depth
// with neither winning are both dropped. An embedded struct with a json
// name is one property.
//
//   - bool, integers, floats and strings: boolean, integer, number, string.
//     Integers narrower than 64 bits carry the bounds of their Go type;
//     unsigned ones a minimum of 0.
//   - Pointers: the pointee's schema, or null.
//   - Slices: array with items, or null; []byte: a base64 string
//     (contentEncoding base64), or null. Arrays: array with items.
//   - Maps: object with additionalProperties, or null. Integer keys are
//     decimal strings (propertyNames with a pattern); string and
//     encoding.TextMarshaler keys are any string.
//   - time.Time: string, format date-time. json.Number: number.
//   - json.RawMessage and interface types: {} (any value).
//   - encoding.TextMarshaler or TextUnmarshaler: string.
//     json.Marshaler or Unmarshaler without them: {} with a $comment.
//   - The ",string" option: a string holding the JSON value.
//   - Channels, functions and complex numbers, which encoding/json
//     refuses: {"not":{}}.
//
// A named struct type that is a root, is used in more than one place, or
// is recursive (or any named struct type, with Options.NameStructs)
// becomes a definition, referenced with $ref (the caller chooses the
// prefix); named slice, map and array types become one only
// when recursive. Definitions take the Go type's name (type arguments after
// underscores: Page_Item), qualified with the package's name (chat.Message)
// only when two types share a name. One type may need more than one
// schema: what a message must be to pass validation (-Input), what the
// server writes (-Output) and what it decodes without validating, such as
// the items of a slice without dive (-Unvalidated). Schemas that come out
// the same are written once, under the plain name.
//
// # Input and Output
//
// An [Output] schema describes what encoding/json writes: every property is
// required unless omitempty or omitzero can leave it out; a property
// reached through an embedded pointer is required only when another
// property of that pointer is present (if/then). Validate tags play no
// part.
//
// An [Input] schema describes what the server accepts: a struct (or
// pointer to one) is decoded and validated, anything else is only decoded.
// An absent property decodes to the field's zero value, so a property is
// required exactly when validator refuses the zero value: the generator
// validates the struct's zero value with the configured validator and reads
// which fields fail, so custom tags and cross-field rules count too. A
// field with no tag is optional unless it is a struct with required
// fields inside. Nullable types (pointers, slices, maps, interfaces) allow
// null exactly when their zero value passes.
//
// # Validate tags
//
// Tags are followed rule by rule as validator walks them, so their order
// counts. A value whose rules cannot all be written keeps its whole tag in
// an x-validate extension on the property; the rules that can be written
// still are. Each rule means what validator makes of it:
//
//   - required: the value is not the zero value. A string: minLength 1. A
//     number: {"not":{"const":0}}. A bool: const true. A struct:
//     not its zero value (all fields zero). A pointer, slice, map or
//     interface: not null (an empty array, an empty object and a pointer to
//     a zero value pass). The property is required.
//   - omitempty: when the value is empty the rest of the tag is skipped:
//     anyOf [the empty value, the rest]. Empty is the zero value, and null
//     for pointers, slices, maps and interfaces; behind a non-nil pointer
//     nothing is empty, so on a pointer omitempty only lets null through
//     and the rules apply to any present value, zero included.
//   - omitnil: null skips the rest. omitzero: null, [] or {} for slices and
//     maps, the zero value behind a pointer, skips the rest.
//   - isdefault: the zero value (null for a pointer).
//   - On a pointer, interface, slice or map, null fails every rule but
//     the omit ones: a pointer tagged anything else is required.
//   - min, max, len, gt, gte, lt, lte: on strings, minLength and maxLength
//     (both count characters, code points: validator counts runes); on
//     numbers, minimum, maximum, exclusiveMinimum, exclusiveMaximum, const
//     for len; on slices, minItems and maxItems; on maps, minProperties and
//     maxProperties; on arrays, whose length is fixed, nothing or
//     {"not":{}}. Parameters are read as validator reads them (0x10 is 16,
//     1s is 1000000000 for a time.Duration).
//   - eq, ne: const and not const for strings, numbers and bools; a length
//     for slices and maps.
//   - oneof: enum, of strings, or of integers (a value no integer is
//     written as, such as "01", is dropped: it cannot match).
//   - email: format email. url: format uri and a pattern for what
//     validator adds (a host, an opaque part as in mailto:, or a fragment;
//     a file: URL needs a path). uri: format uri-reference and a pattern
//     for the scheme or leading "/" that url.ParseRequestURI needs.
//     http_url, https_url: format uri and a pattern for the scheme and
//     host. uuid, uuid3, uuid4, uuid5 and their _rfc4122 variants: format
//     uuid and validator's own pattern.
//   - alpha, alphanum, alphaspace, alphanumspace, numeric, number,
//     hexadecimal, hexcolor, e164 on strings: validator's own pattern.
//     startswith, endswith, contains, excludes: a pattern.
//   - unique on a slice of strings, numbers or bools: uniqueItems.
//   - dive: the rest of the tag applies to the items (items,
//     additionalProperties); keys ... endkeys to the keys of a map with
//     string keys (propertyNames). Without dive, validator does not look
//     into the items of a slice or map: a struct there gets its
//     -Unvalidated schema.
//   - a|b: anyOf.
//   - A field tagged validate:"-", or a struct tagged structonly or
//     nostructlevel, is not looked into (-Unvalidated).
//
// # Known differences
//
// The schemas describe the messages the server means to read. Where
// encoding/json or validator are laxer or stricter in ways a schema cannot
// follow, they differ; e2e/schemacheck measures each of these against
// a running server:
//
//   - encoding/json reads null for a non-nullable value (a string, number,
//     bool, struct or array, as a field, an item or a map value) as its
//     zero value; the schemas refuse null there. It also matches property
//     names without regard to case and lets the last of two equal names
//     win; the schemas expect the exact names.
//   - JSON Schema compares numbers by value: its integer accepts 1.0 and
//     1e2, and minimum 0 accepts -0, which encoding/json refuses for an
//     integer (a sign, for an unsigned one). int, int64, uint and uint64
//     carry no upper bound and float32 no range; integer map keys are not
//     bounded by their Go type. In Go, -0.0 is not a float's zero value;
//     const 0 matches -0.
//   - Bounds on a float32 are compared after rounding to float32.
//   - Formats are checked by the schema validator's own rules, not by
//     validator's: email addresses such as a@b, a@b.co. or ñ@ñ.co are judged
//     differently; a file: URL without a path (file://host) passes the url
//     schema.
//   - encoding/json reads a []byte from an array of numbers too, and a
//     json.Number from a string holding a number; the schemas expect a
//     base64 string and a number.
//   - Rules with no equivalent are kept in x-validate and not enforced by
//     the schema: rules comparing fields (eqfield, required_if, ...),
//     custom tags, formats not listed above, rules on []byte, time.Time,
//     interface values, types that encode themselves, integer map keys,
//     and the tags of embedded structs (written on the object as
//     "Name: tag"). Whether the property is required still follows
//     validator, which is given the zero value.
//   - Struct-level validations, and a request's own Validate method, are
//     not described.
//   - A struct with a validated field JSON cannot set (json:"-", or hidden
//     by another field of the same name) that fails at its zero value fails
//     every message: its schema is {"not":{}}.
package jsonschema
