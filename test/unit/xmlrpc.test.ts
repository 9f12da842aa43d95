import { strict as assert } from "assert";
import fc from "fast-check";
import { XmlRpcProtocolError } from "../../components/opennebula/errors";
import type { XmlRpcValue } from "../../components/opennebula/xmlrpc";
import {
    decodeMethodCall,
    decodeMethodResponse,
    encodeFault,
    encodeMethodCall,
    encodeMethodResponse,
} from "../../components/opennebula/xmlrpc";

/** A response body exactly as xmlrpc-c's Abyss server in oned formats it. */
function abyssResponse(valueXml: string): string {
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\r\n<methodResponse>\r\n<params>\r\n' +
        `<param><value>${valueXml}</value></param>\r\n</params>\r\n</methodResponse>\r\n`
    );
}

function decodedValue(xml: string): XmlRpcValue {
    const response = decodeMethodResponse(xml);
    assert.equal(response.kind, "value");
    return response.kind === "value" ? response.value : "";
}

/** Strings made only of characters XML 1.0 can carry. */
const xmlString = fc.string({ unit: "grapheme", maxLength: 30 }).filter(
    // eslint-disable-next-line no-control-regex
    (s) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(s),
);
const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
const nonIntegerDouble = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d));
const xmlRpcValue: fc.Arbitrary<XmlRpcValue> = fc.letrec<{ value: XmlRpcValue }>((tie) => ({
    value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        xmlString,
        int32,
        nonIntegerDouble,
        fc.boolean(),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(xmlString, tie("value"), { maxKeys: 4, noNullPrototype: true }),
    ),
})).value;

describe("XML-RPC codec", () => {
    describe("encodeMethodCall", () => {
        it("encodes each type with the element OpenNebula expects", () => {
            const xml = encodeMethodCall("one.vn.update", ["oneadmin:pw", 7, "T = 1", 1, true, false, 2.5]);
            assert.match(xml, /^<\?xml version="1.0"\?>\n<methodCall><methodName>one.vn.update<\/methodName>/);
            assert.ok(xml.includes("<param><value><string>oneadmin:pw</string></value></param>"));
            assert.ok(xml.includes("<param><value><int>7</int></value></param>"));
            assert.ok(xml.includes("<value><boolean>1</boolean></value>"));
            assert.ok(xml.includes("<value><boolean>0</boolean></value>"));
            assert.ok(xml.includes("<value><double>2.5</double></value>"));
        });

        it("escapes markup characters and writes \\r as a character reference", () => {
            const xml = encodeMethodCall("one.template.allocate", ['NAME = "a<b>&c"\r\nX = 1']);
            assert.ok(xml.includes('<string>NAME = "a&lt;b&gt;&amp;c"&#13;\nX = 1</string>'));
        });

        it("encodes arrays and structs", () => {
            const xml = encodeMethodCall("m", [[1, "a"], { k: [true] }]);
            assert.ok(xml.includes("<array><data><value><int>1</int></value><value><string>a</string></value></data></array>"));
            assert.ok(
                xml.includes(
                    "<struct><member><name>k</name><value><array><data><value><boolean>1</boolean></value></data></array></value></member></struct>",
                ),
            );
        });

        it("refuses integers outside the 32-bit range of <int>", () => {
            assert.throws(() => encodeMethodCall("m", [2147483648]), /parameter 0 is an integer outside the 32-bit range/);
            assert.throws(() => encodeMethodCall("m", ["x", [-2147483649]]), /parameter 1\[0\] is an integer outside/);
            assert.doesNotThrow(() => encodeMethodCall("m", [2147483647, -2147483648]));
        });

        it("refuses values XML-RPC cannot carry, naming the position but not echoing the value", () => {
            assert.throws(() => encodeMethodCall("m", [NaN]), /parameter 0 must be a finite number/);
            assert.throws(() => encodeMethodCall("m", [{ a: Infinity }]), /parameter 0\.a must be a finite number/);
            assert.throws(
                () => encodeMethodCall("m", [undefined as unknown as XmlRpcValue]),
                /parameter 0 cannot be sent .* got undefined/,
            );
            assert.throws(() => encodeMethodCall("m", [new Date() as unknown as XmlRpcValue]), /got Date/);
            assert.throws(
                () => encodeMethodCall("m", ["user:secret\u0001pw"]),
                (e: Error) => /parameter 0 contains the character U\+0001/.test(e.message) && !e.message.includes("secret"),
            );
            assert.throws(() => encodeMethodCall("m", ["lone \uD800 surrogate"]), /U\+D800/);
            assert.throws(() => encodeMethodCall("one.x<y>", []), /method name/);
        });

        it("round-trips any value through decodeMethodCall", () => {
            fc.assert(
                fc.property(fc.array(xmlRpcValue, { maxLength: 5 }), (params) => {
                    const decoded = decodeMethodCall(encodeMethodCall("one.test.method", params));
                    assert.equal(decoded.method, "one.test.method");
                    assert.deepStrictEqual(decoded.params, params);
                }),
                { numRuns: 300 },
            );
        });
    });

    describe("decodeMethodResponse", () => {
        it("round-trips any value through encodeMethodResponse", () => {
            fc.assert(
                fc.property(xmlRpcValue, (value) => {
                    assert.deepStrictEqual(decodeMethodResponse(encodeMethodResponse(value)), { kind: "value", value });
                }),
                { numRuns: 300 },
            );
        });

        it("decodes a success array as oned sends it", () => {
            const xml = abyssResponse(
                "<array><data>\r\n<value><boolean>1</boolean></value>\r\n" +
                    "<value><string>&lt;CLUSTER&gt;&lt;ID&gt;100&lt;/ID&gt;&lt;/CLUSTER&gt;</string></value>\r\n" +
                    "<value><i4>0</i4></value>\r\n</data></array>",
            );
            assert.deepStrictEqual(decodedValue(xml), [true, "<CLUSTER><ID>100</ID></CLUSTER>", 0]);
        });

        it("decodes the five-element failure array with its trailing <i8>", () => {
            const xml = abyssResponse(
                "<array><data>\r\n<value><boolean>0</boolean></value>\r\n" +
                    "<value><string>[one.cluster.info] Error getting cluster [999].</string></value>\r\n" +
                    "<value><i4>1024</i4></value>\r\n<value><i4>999</i4></value>\r\n" +
                    "<value><i8>0</i8></value>\r\n</data></array>",
            );
            assert.deepStrictEqual(decodedValue(xml), [false, "[one.cluster.info] Error getting cluster [999].", 1024, 999, 0]);
        });

        it("decodes <i8> beyond 32 bits, <int>, <double> and signs", () => {
            const xml = abyssResponse(
                "<array><data><value><i8>8589934592</i8></value><value><int>-7</int></value>" +
                    "<value><i4>+3</i4></value><value><double>-1.25</double></value><value><double>1e3</double></value></data></array>",
            );
            assert.deepStrictEqual(decodedValue(xml), [8589934592, -7, 3, -1.25, 1000]);
        });

        it("decodes XML-RPC faults such as -506 (unknown method) and -501 (wrong type)", () => {
            const fault = (code: number, text: string): string =>
                '<?xml version="1.0" encoding="UTF-8"?>\r\n<methodResponse>\r\n<fault>\r\n<value><struct>\r\n' +
                `<member><name>faultCode</name>\r\n<value><i4>${code}</i4></value></member>\r\n` +
                `<member><name>faultString</name>\r\n<value><string>${text}</string></value></member>\r\n` +
                "</struct></value>\r\n</fault>\r\n</methodResponse>\r\n";
            assert.deepStrictEqual(decodeMethodResponse(fault(-506, "Method 'one.foo.bar' not defined")), {
                kind: "fault",
                faultCode: -506,
                faultString: "Method 'one.foo.bar' not defined",
            });
            assert.deepStrictEqual(decodeMethodResponse(fault(-501, "Type mismatch: expected int, got string")), {
                kind: "fault",
                faultCode: -501,
                faultString: "Type mismatch: expected int, got string",
            });
            assert.deepStrictEqual(decodeMethodResponse(encodeFault(-506, "a & b")), {
                kind: "fault",
                faultCode: -506,
                faultString: "a & b",
            });
        });

        it("treats a bare <value>text</value> as a string, keeping whitespace", () => {
            assert.equal(decodedValue(abyssResponse("6.10.0")), "6.10.0");
            assert.equal(decodedValue(abyssResponse("  padded \n")), "  padded \n");
            assert.equal(decodedValue(abyssResponse("")), "");
            assert.equal(decodedValue("<methodResponse><params><param><value/></param></params></methodResponse>"), "");
        });

        it("decodes entities, character references and CDATA in strings, in a single pass", () => {
            const xml = abyssResponse(
                "<string>&lt;T&gt; &amp;amp; &quot;q&quot; &apos;a&apos; &#13;&#x41;&#128512; <![CDATA[<X>&amp;]]> end</string>",
            );
            assert.equal(decodedValue(xml), "<T> &amp; \"q\" 'a' \rA\u{1F600} <X>&amp; end");
        });

        it("keeps <string> content verbatim, including numbers with leading zeros and whitespace", () => {
            const xml = abyssResponse(
                "<array><data><value><string>007</string></value><value><string> </string></value><value><string/></value></data></array>",
            );
            assert.deepStrictEqual(decodedValue(xml), ["007", " ", ""]);
        });

        it("decodes structs, including a member named __proto__ as an own property", () => {
            const xml = abyssResponse(
                "<struct><member><name>__proto__</name><value><i4>1</i4></value></member>" +
                    "<member><name>NAME</name><value>x</value></member></struct>",
            );
            const value = decodedValue(xml) as Record<string, XmlRpcValue>;
            assert.equal(Object.getPrototypeOf(value), Object.prototype);
            assert.deepStrictEqual(Object.keys(value), ["__proto__", "NAME"]);
            assert.equal(value.NAME, "x");
        });

        it("decodes <nil/> as an empty string", () => {
            assert.deepStrictEqual(decodedValue(abyssResponse("<array><data><value><nil/></value></data></array>")), [""]);
        });

        it("ignores comments and processing instructions between elements", () => {
            const xml =
                '<?xml version="1.0"?><!-- c --><methodResponse><params><!-- c --><param><value><i4>5</i4></value></param></params></methodResponse>';
            assert.equal(decodedValue(xml), 5);
        });

        const malformed: Array<[string, string, RegExp]> = [
            ["an empty body", "", /empty response body/],
            ["an HTML error page", "<html><body>Bad Gateway</body></html>", /expected <methodResponse>/],
            ["plain text", "Service Unavailable", /malformed XML/],
            ["unclosed elements", "<methodResponse><params><param><value><i4>1</i4>", /malformed XML/],
            ["mismatched tags", "<methodResponse><params></param></methodResponse>", /malformed XML/],
            ["a bare ampersand", abyssResponse("<string>a & b</string>"), /malformed XML/],
            ["an undefined entity", abyssResponse("<string>&nbsp;</string>"), /undefined entity &nbsp;/],
            ["a NUL character reference", abyssResponse("<string>&#0;</string>"), /invalid character reference/],
            ["a surrogate character reference", abyssResponse("<string>&#xD800;</string>"), /invalid character reference &#xD800;/],
            ["a DOCTYPE", '<!DOCTYPE x [<!ENTITY a "b">]><methodResponse/>', /DOCTYPE/],
            ["no params or fault", "<methodResponse></methodResponse>", /exactly one element, found 0/],
            [
                "two params",
                "<methodResponse><params><param><value>a</value></param><param><value>b</value></param></params></methodResponse>",
                /exactly one element, found 2/,
            ],
            ["an unknown body element", "<methodResponse><result/></methodResponse>", /expected <params> or <fault>/],
            ["a non-integer <i4>", abyssResponse("<i4>12a</i4>"), /<i4> must hold an integer/],
            ["an <int> beyond 32 bits", abyssResponse("<int>4294967296</int>"), /outside the 32-bit range/],
            ["a boolean other than 0/1", abyssResponse("<boolean>true</boolean>"), /<boolean> must hold 0 or 1/],
            ["a non-numeric double", abyssResponse("<double>1.2.3</double>"), /<double> must hold a decimal number/],
            ["an unknown type", abyssResponse("<base64>AAAA</base64>"), /unsupported XML-RPC value type <base64>/],
            ["two typed elements in one value", abyssResponse("<i4>1</i4><i4>2</i4>"), /one typed element, found 2/],
            ["text next to a typed element", abyssResponse("x<i4>1</i4>"), /unexpected text "x"/],
            ["an array without <data>", abyssResponse("<array><value>1</value></array>"), /expected <data>/],
            [
                "a member without a name",
                abyssResponse("<struct><member><value>1</value></member></struct>"),
                /exactly one <name> and one <value>/,
            ],
            ["a string holding elements", abyssResponse("<string>a<b/></string>"), /<string> must hold text only/],
            [
                "a fault that is not a struct",
                "<methodResponse><fault><value><i4>1</i4></value></fault></methodResponse>",
                /<fault> must hold a struct/,
            ],
            [
                "a fault without faultString",
                "<methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>1</i4></value></member></struct></value></fault></methodResponse>",
                /integer faultCode and a string faultString/,
            ],
        ];
        for (const [what, xml, message] of malformed) {
            it(`rejects ${what} with XmlRpcProtocolError`, () => {
                assert.throws(
                    () => decodeMethodResponse(xml),
                    (e: unknown) => {
                        assert.ok(e instanceof XmlRpcProtocolError, `expected XmlRpcProtocolError, got ${String(e)}`);
                        assert.match(e.message, message);
                        return true;
                    },
                );
            });
        }
    });

    describe("decodeMethodCall", () => {
        it("reads the method name and parameters of a request from another client", () => {
            const xml =
                '<?xml version="1.0"?>\n<methodCall>\n  <methodName>one.cluster.allocate</methodName>\n  <params>\n' +
                "    <param><value><string>oneadmin:secret</string></value></param>\n" +
                "    <param><value>edge-ams</value></param>\n    <param><value><i4>-1</i4></value></param>\n" +
                "  </params>\n</methodCall>\n";
            assert.deepStrictEqual(decodeMethodCall(xml), {
                method: "one.cluster.allocate",
                params: ["oneadmin:secret", "edge-ams", -1],
            });
        });

        it("accepts a call without <params> and rejects other documents", () => {
            assert.deepStrictEqual(decodeMethodCall("<methodCall><methodName>one.system.version</methodName></methodCall>"), {
                method: "one.system.version",
                params: [],
            });
            assert.throws(() => decodeMethodCall("<methodResponse/>"), XmlRpcProtocolError);
            assert.throws(() => decodeMethodCall("<methodCall><params/></methodCall>"), /no <methodName>/);
        });
    });
});
