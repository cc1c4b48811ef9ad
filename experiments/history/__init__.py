"""The model beside history: episode files (`episodes`), the measures a figure reads from a
played run (`measures`), playing episodes on the one executor (`runner`), validation against
the observed figures (`validate`) and calibration of a preset to them (`calibrate`).
docs/validation.md is the user's guide.
"""
