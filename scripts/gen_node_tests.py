"""Writes the ONNX backend node tests (model.onnx + test_data_set_*) of the installed onnx
package into OUT/node, the way ../shared/data/onnx-testdata/node was made.
Usage: python scripts/gen_node_tests.py OUT"""
import argparse, sys
import onnx.backend.test.case.node as node_test
import onnx.backend.test.cmd_tools as cmd_tools

cmd_tools.model_test.collect_testcases = lambda: node_test.collect_testcases(None)
cmd_tools.generate_data(argparse.Namespace(output=sys.argv[1]))
