"""Contracts between Huiyuan's services and the gateway.

Every RPC payload, every event and every error type lives here, so that the
producer and the consumer of a message import the same definition. Over the
wire go only plain JSON types: money as integer fen, times as ISO-8601
strings, ids as strings.
"""
