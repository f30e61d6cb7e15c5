"""The JSON Schema subset validator agrees with ``jsonschema`` (the reference implementation, a dev dependency) on
the schemas structured outputs and tool definitions use, for generated instances; and its messages carry no
instance values."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from glassbox.processors.evals.schema import validate

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}, "required": ["a"]},
    {
        "type": "object",
        "properties": {"a": {"type": "number", "minimum": 0, "maximum": 10}},
        "additionalProperties": False,
    },
    {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 3}, "minItems": 1, "maxItems": 3},
    {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": {"type": "boolean"}},
    {"type": "array", "uniqueItems": True},
    {"enum": ["open", "shipped", 1, None, True]},
    {"const": {"k": [1, 2]}},
    {"anyOf": [{"type": "string"}, {"type": "integer", "exclusiveMinimum": 5}]},
    {"oneOf": [{"type": "integer"}, {"type": "number", "multipleOf": 0.5}]},
    {"allOf": [{"type": "object", "required": ["x"]}, {"type": "object", "required": ["y"]}]},
    {"not": {"type": "null"}},
    {"type": ["string", "null"], "pattern": "^[A-Z]{2}-[0-9]+$"},
    {"type": "object", "patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": {"type": "string"}},
    {"type": "object", "minProperties": 1, "maxProperties": 2},
    {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/item"}}},
        "$defs": {
            "item": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
                "required": ["sku", "qty"],
                "additionalProperties": False,
            }
        },
    },
    {  # recursive: a tree (pydantic emits such $refs for self-referencing models)
        "$ref": "#/$defs/node",
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "v": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["v"],
            }
        },
    },
    {"type": "integer", "maximum": 3, "exclusiveMaximum": 3},
    True,
    False,
]

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-20, 20)
    | st.floats(-20, 20, allow_nan=False).map(lambda f: round(f * 2) / 4)
    | st.sampled_from(["", "a", "abcd", "open", "AB-12", "x-y", "shipped"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["a", "b", "x", "y", "v", "k", "x-1", "sku", "qty", "items", "children"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@pytest.mark.parametrize("schema", SCHEMAS, ids=[str(i) for i in range(len(SCHEMAS))])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(instance=JSON)
def test_agrees_with_jsonschema(schema, instance):
    expected = Draft202012Validator(schema).is_valid(instance)
    errors = validate(instance, schema)
    assert (not errors) is expected, (schema, instance, errors)


def test_agrees_on_hand_picked_edge_cases():
    cases = [
        ({"type": "integer"}, 1.0, True),  # JSON has one number type
        ({"type": "integer"}, True, False),  # booleans are not numbers
        ({"type": "number"}, False, False),
        ({"enum": [1]}, True, False),
        ({"enum": [True]}, 1, False),
        ({"const": 1}, 1.0, True),
        ({"required": ["a"]}, [], True),  # required applies to objects only
        ({"minLength": 2}, 5, True),
        ({"$ref": "#/definitions/x", "definitions": {"x": {"type": "string"}}}, 1, False),
    ]
    for schema, instance, valid in cases:
        assert Draft202012Validator(schema).is_valid(instance) is valid, (schema, instance)
        assert (not validate(instance, schema)) is valid, (schema, instance)


def test_unknown_keywords_and_refs_never_reject():
    assert validate("x", {"format": "email"}) == []
    assert validate(1, {"$ref": "https://example.com/schema.json"}) == []
    assert validate(1, {"$ref": "#/$defs/missing"}) == []
    assert validate("x", {"type": "strng"}) == []  # a type name the validator does not know
    assert validate("x", {"pattern": "(?<=unsupported"}) == []  # a pattern Python cannot compile


def test_self_referencing_refs_terminate():
    loop: dict[str, Any] = {"$ref": "#"}
    assert validate({"a": 1}, loop) == []
    assert validate({"a": 1}, {"allOf": [{"$ref": "#"}], "type": "object"}) == []


def test_messages_name_paths_and_schema_words_never_instance_values():
    schema = {
        "type": "object",
        "properties": {"card": {"type": "integer"}, "name": {"enum": ["a", "b"]}},
        "additionalProperties": False,
        "required": ["card"],
    }
    secrets = {"card": "4111 1111 1111 1111", "name": "Ana Lopez", "ana.lopez@example.com": 1}
    messages = validate(secrets, schema, max_errors=10)
    assert messages == [
        "$.card: expected integer",
        "$.name: not one of the allowed values",
        "$: 1 property not allowed by the schema",
    ]
    text = " ".join(messages)
    assert "4111" not in text and "Ana" not in text and "example.com" not in text


def test_lenient_mode_forgives_what_redaction_does():
    schema = {
        "type": "object",
        "properties": {
            "phone": {"type": "integer"},
            "email": {"type": "string", "pattern": "@"},
            "n": {"type": "integer"},
        },
        "required": ["phone", "email", "n"],
    }
    redacted = {"phone": "<PHONE_NUMBER>", "email": "<EMAIL_ADDRESS>"}  # "n" was removed by a remove operator
    assert validate(redacted, schema) != []
    assert validate(redacted, schema, lenient=True) == []
    assert validate({"phone": 1, "email": "x", "n": [1]}, schema, lenient=True) == ["$.n: expected integer"]
