"""Kibo's wire, the one place that knows it: paths and headers as Kibo's clients send them (middleware), the
caller from Kibo's credentials (context), request bodies in Kibo's names, answers in Kibo's shapes with
responseFields, the error envelope, list paging, the OpenAPI document.
"""
