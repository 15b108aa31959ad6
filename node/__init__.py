"""The Tally node: the only package that does I/O (trio runtime, libp2p, LevelDB storage, HTTP API).

It wires the pure ``protocol`` rules and the pure ``consensus`` state machine to the world.
"""
