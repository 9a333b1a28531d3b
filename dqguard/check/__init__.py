"""The rules on a quantized graph, worker side (imports torch): shared dequantize nodes
(`sharing`, DQG001-DQG003) and what a lowering left outside its delegates (`delegation`)."""
