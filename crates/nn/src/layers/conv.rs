//! Convolutional layers: Conv1d, Conv2d, pooling, BatchNorm2d, Dropout2d, ResNet blocks.
