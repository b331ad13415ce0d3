"""Hypothesis strategies from the centre's OpenAPI document (the JSON Schema subset it uses).

`from_schema` makes values that satisfy a schema; `near` makes values that mostly do, with
one field dropped, changed in type, or added: the bodies a buggy kiosk sends.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def from_schema(spec: dict[str, Any], schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    schema = resolve(spec, schema)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(spec, s) for s in schema["anyOf"]])
    kinds = schema.get("type", "object")
    if isinstance(kinds, list):
        return st.one_of([from_schema(spec, {**schema, "type": k}) for k in kinds])
    if kinds == "null":
        return st.none()
    if kinds == "boolean":
        return st.booleans()
    if kinds == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kinds == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(
            min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 40)
        )
    if kinds == "array":
        return st.lists(
            from_schema(spec, schema.get("items", {})), max_size=min(schema.get("maxItems", 4), 4)
        )
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {k: from_schema(spec, v) for k, v in properties.items() if k in required},
        optional={k: from_schema(spec, v) for k, v in properties.items() if k not in required},
    )


def near(spec: dict[str, Any], schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid body with one defect, or any JSON at all."""
    schema = resolve(spec, schema)
    names = sorted(schema.get("properties", {}))
    valid = from_schema(spec, schema)

    def defect(draw: Any) -> Any:
        body = draw(valid)
        if not isinstance(body, dict) or not names:
            return body
        name = draw(st.sampled_from(names))
        what = draw(st.sampled_from(["drop", "retype", "extra"]))
        if what == "drop":
            body.pop(name, None)
        elif what == "retype":
            body[name] = draw(JSON_SCALARS)
        else:
            body[draw(st.text(min_size=1, max_size=10))] = draw(JSON_SCALARS)
        return body

    return st.one_of(valid, st.composite(defect)(), ANY_JSON)
