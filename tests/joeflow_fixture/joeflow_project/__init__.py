"""The joeflow 2.0.2 project `build.py` runs, in a throwaway virtualenv, to write the fixture."""
