"""Importing this module unmarshals the code of every stdlib module not imported
yet into the stdlib finder's cache (_eryx_support.cache_stdlib_code), so that in a
start state made with it last in the import list, a later import of any stdlib
module only runs the module's code (docs/GUEST.md, "Imports from the stdlib").
"""
import _eryx_support

count = _eryx_support.cache_stdlib_code()
