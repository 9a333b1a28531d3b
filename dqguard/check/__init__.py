"""The rules on a quantized graph, worker side (imports torch): shared dequantize nodes
(`sharing`, DQG001-DQG003) and what a lowering left outside its delegates (`delegation`), over
the op sets (`ops`), the definition of a quantized op (`quantized`) and what a finding records
about a node (`nodes`)."""
