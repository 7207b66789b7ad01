"""edXML packages (QCVN 102:2016 as carried by the national-axis kit): values, builder, tolerant parser, XSD."""
