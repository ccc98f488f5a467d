"""Local SOS Inventory and WizCommerce emulators: real HTTP servers for tests, demo and benchmark."""

from .seed import seed
from .sos import SosEmulator
from .wiz import WizEmulator

__all__ = ["SosEmulator", "WizEmulator", "seed"]
