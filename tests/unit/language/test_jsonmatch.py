"""jsonmatch(): MongoDB query operators."""

from __future__ import annotations

import pytest

from language import InvalidExpressionSyntax, jsonmatch

DOC = {
    "name": "Ada", "age": 36, "tags": ["admin", "dev"], "nil": None,
    "address": {"city": "Paris", "zip": "75001"},
    "items": [{"sku": "X1", "qty": 2}, {"sku": "Y2", "qty": 5}],
    "scores": [3, 8, 12],
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, True),
        ({"name": "Ada"}, True), ({"name": "Bob"}, False), ({"name": "Ada", "age": 36}, True),
        ({"address.city": "Paris"}, True), ({"address": {"city": "Paris", "zip": "75001"}}, True),
        ({"address": {"city": "Paris"}}, False),
        ({"tags": "dev"}, True), ({"tags": ["admin", "dev"]}, True), ({"tags": "ops"}, False),
        ({"items.sku": "Y2"}, True), ({"items.sku": "Z9"}, False), ({"items.0.sku": "X1"}, True),
        ({"age": {"$eq": 36}}, True), ({"age": {"$ne": 36}}, False), ({"name": {"$ne": "Bob"}}, True),
        ({"age": {"$gt": 30, "$lt": 40}}, True), ({"age": {"$gte": 37}}, False),
        ({"age": {"$lte": 36}}, True), ({"name": {"$gt": "A"}}, True), ({"age": {"$gt": "3"}}, False),
        ({"scores": {"$gt": 10}}, True), ({"scores": {"$lt": 3}}, False),
        ({"age": {"$in": [1, 36]}}, True), ({"tags": {"$in": ["ops", "dev"]}}, True),
        ({"age": {"$nin": [1, 2]}}, True), ({"tags": {"$nin": ["dev"]}}, False),
        ({"nil": {"$exists": True}}, True), ({"missing": {"$exists": False}}, True),
        ({"name": {"$exists": False}}, False),
        ({"missing": None}, True), ({"nil": None}, True), ({"name": None}, False),
        ({"name": {"$regex": "^a", "$options": "i"}}, True), ({"name": {"$regex": "/^A/"}}, True),
        ({"name": {"$regex": "^a"}}, False), ({"tags": {"$regex": "^de"}}, True),
        ({"$or": [{"name": "Bob"}, {"age": 36}]}, True), ({"$or": [{"name": "Bob"}]}, False),
        ({"$and": [{"name": "Ada"}, {"age": 36}]}, True), ({"$nor": [{"name": "Bob"}]}, True),
        ({"age": {"$not": {"$gt": 40}}}, True), ({"name": {"$not": "^A"}}, False),
        ({"items": {"$elemMatch": {"sku": "Y2", "qty": {"$gte": 5}}}}, True),
        ({"items": {"$elemMatch": {"sku": "X1", "qty": {"$gte": 5}}}}, False),
        ({"scores": {"$elemMatch": {"$gt": 10, "$lt": 13}}}, True),
        ({"tags": {"$size": 2}}, True), ({"tags": {"$size": 3}}, False),
        ({"tags": {"$all": ["dev", "admin"]}}, True), ({"tags": {"$all": ["dev", "ops"]}}, False),
    ],
)
def test_jsonmatch(query: dict, expected: bool) -> None:
    assert jsonmatch(DOC, query) is expected


def test_non_object_document_is_false() -> None:
    assert jsonmatch("x", {"a": 1}) is False
    assert jsonmatch(None, {}) is False


@pytest.mark.parametrize(
    "query",
    ["x", [1], {"$or": {"a": 1}}, {"a": {"$foo": 1}}, {"$where": "1"}, {"a": {"$in": 1}}, {"a": {"$regex": 1}}],
)
def test_bad_queries_raise(query: object) -> None:
    with pytest.raises(InvalidExpressionSyntax):
        jsonmatch(DOC, query)
